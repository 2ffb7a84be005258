//! The external term format decoder on arbitrary bytes: it returns (no
//! panic, no overflow, no allocation beyond the input) whatever a peer
//! sends, and what it decodes encodes to a term that decodes the same — an
//! opaque value (a big integer, an improper list, a fun, a port, a bit
//! string) going back as the very bytes it came as.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_node::etf::{self, NodeContext};
use weft_vm::{Atom, Value};

struct Here;

impl NodeContext for Here {
    fn local_node(&self) -> Atom {
        Atom::new("fuzz@localhost")
    }
    fn creation(&self) -> u32 {
        1
    }
    fn index_of(&self, node: Atom) -> u32 {
        u32::from(node != self.local_node())
    }
}

fuzz_target!(|bytes: &[u8]| {
    let Ok((value, _)) = etf::decode(bytes, &Here) else {
        return;
    };
    let mut out = Vec::new();
    etf::encode(&mut out, &value, &Here);
    let (again, used) = etf::decode(&out, &Here).expect("what the encoder writes decodes");
    assert_eq!(used, out.len());
    // Compared by their encodings, not with `==`: a NaN float is not
    // equal to itself.
    let mut twice = Vec::new();
    etf::encode(&mut twice, &again, &Here);
    assert_eq!(twice, out, "a decoded term encodes to one that decodes the same");
    if let Value::Opaque(opaque) = &value {
        assert_eq!(&out[1..], &opaque.encoded[..], "an opaque term goes back as it came");
    }
});
