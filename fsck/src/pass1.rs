//! pass1 (to be written).

use crate::context::Fsck;
use crate::error::Result;

/// Runs pass1.
pub(crate) fn run(_cx: &mut Fsck) -> Result<()> {
    Ok(())
}
