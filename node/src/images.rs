//! The stand-in for `$weft_images`, the name `process.migrate` sends a
//! process image to (LANGUAGE.md §13; the Weft half is the standard
//! library's `process.weft`). No process has the name: the node restores
//! the image itself, the way it answers `net_kernel` and `pg`, and answers
//! the mover `(:"$weft_migrated", tag, (:ok, pid) | (:error, reason))`.
//!
//! The message is `(:"$weft_migrate", mover, tag, image, name)`: `mover`
//! a pid of the sending node, `image` bytes, `name` the atom the process
//! was registered under there (or nil), which it takes here if it is free.
//! Anything else sent to the name is dropped, as a message to a name
//! nobody has is.

use weft_vm::{NodeHandle, Value};

use crate::NodeState;

/// The registered name images are sent to.
pub(crate) const NAME: &str = "$weft_images";

/// Restores the image in `message` and answers the mover.
pub(crate) fn message(state: &NodeState, handle: &mut NodeHandle, message: &Value) {
    let Some([tag_atom, Value::RemotePid(mover), tag, image, name]) = message.as_tuple() else {
        return;
    };
    if tag_atom.as_atom() != Some("$weft_migrate") {
        return;
    }
    let name = match name {
        Value::Atom(name) => Some(*name),
        _ => None,
    };
    let result = handle.restore_image(image, name);
    let answer = Value::tuple(vec![Value::atom("$weft_migrated"), tag.clone(), result]);
    if let Some(conn) = state.existing(mover.node.name()) {
        conn.queue(state.send_frame(mover, &answer));
    }
}
