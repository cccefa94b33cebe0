//! pass1b (to be written).

use crate::context::Fsck;
use crate::error::Result;

/// Runs pass1b.
pub(crate) fn run(_cx: &mut Fsck) -> Result<()> {
    Ok(())
}
