//! orphan (to be written).

use crate::context::Fsck;
use crate::error::Result;

/// Runs orphan.
pub(crate) fn run(_cx: &mut Fsck) -> Result<()> {
    Ok(())
}
