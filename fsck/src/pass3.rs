//! pass3 (to be written).

use crate::context::Fsck;
use crate::error::Result;

/// Runs pass3.
pub(crate) fn run(_cx: &mut Fsck) -> Result<()> {
    Ok(())
}
