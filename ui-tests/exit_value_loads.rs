// Rule: an exit value does not load from memory (it is computed before the condition).
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut heads = [core::ptr::null_mut::<u64>(); 4];
    let base = heads.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in head: *mut *mut u64 = base.add(cpu);
            let top: *mut u64 = *head;
            if top.is_null() { exit *top; }
            commit *head = top;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
