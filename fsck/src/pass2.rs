//! pass2 (to be written).

use crate::context::Fsck;
use crate::error::Result;

/// Runs pass2.
pub(crate) fn run(_cx: &mut Fsck) -> Result<()> {
    Ok(())
}
