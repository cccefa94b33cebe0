//! journal (to be written).

use crate::context::Fsck;
use crate::error::Result;

/// Runs journal.
pub(crate) fn run(_cx: &mut Fsck) -> Result<()> {
    Ok(())
}
