// Rule: a field's offset fits the instruction it is folded into (here x86_64's 32-bit
// displacement); a field further in is brought in as an address.
#[repr(C)]
struct Huge {
    pad: [u8; 1 << 31],
    current: u64,
}

fn main() -> Result<(), rseq_dsl::Unavailable> {
    let base: *mut Huge = std::ptr::null_mut();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in huge: *mut Huge = base.wrapping_add(cpu);
            commit (*huge).current += 1u64;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
