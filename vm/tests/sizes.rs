//! The sizes that decide the interpreter's speed, pinned: a `Value` is a
//! tag and one word, an instruction fits in 8 bytes. A change that grows
//! either must be deliberate.

#[test]
fn value_is_two_words() {
    assert_eq!(std::mem::size_of::<weft_vm::Value>(), 16);
    assert_eq!(std::mem::size_of::<Option<weft_vm::Value>>(), 16);
}

#[test]
fn instruction_is_eight_bytes() {
    assert_eq!(std::mem::size_of::<weft_compiler::Instr>(), 8);
}

#[test]
fn vm_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<weft_vm::Vm>();
    assert_send::<weft_vm::Value>();
}
