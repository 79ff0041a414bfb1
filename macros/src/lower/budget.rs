//! The register budget: a section whose live values need more registers than `asm!` hands
//! out on the target is refused, on the statement where the pressure peaks, naming the
//! values live there.

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::{Allocation, Lowerer, Operand, Origin, Source, VReg};
use crate::check::VarKind;

impl Lowerer<'_> {
    /// The error for a section that needs more registers than the target has: `alloc`'s
    /// slots, the `scratch` operand, the `result` operand if `has_result`, and `clobbers`.
    pub(super) fn over_budget(
        &self,
        alloc: &Allocation,
        has_result: bool,
        clobbers: &[&str],
        body: Span,
    ) -> syn::Error {
        let needed = alloc.slot_count + 1 + usize::from(has_result) + clobbers.len();
        let peak = &alloc.peak;
        let mut named = Vec::new();
        let mut intermediate = 0;
        for vreg in &peak.live {
            match self.name_of(*vreg) {
                Some(name) => named.push(name),
                None => intermediate += 1,
            }
        }
        // In the order the section declares them.
        named.sort();
        let mut names: Vec<String> = named.into_iter().map(|(_, name)| name).collect();
        if intermediate > 0 {
            names.push(match intermediate {
                1 => "1 intermediate value".to_string(),
                n => format!("{n} intermediate values"),
            });
        }
        let mut others = vec!["the `scratch` operand".to_string()];
        if has_result {
            others.push("the `result` operand".to_string());
        }
        for clobber in clobbers {
            others.push(format!("`{clobber}` for shift counts"));
        }
        let message = format!(
            "this section needs {needed} registers at once, but `asm!` on {} offers {}: here {} values are live ({}), besides {}; keep fewer values live across this statement (fewer inputs, loads later, or computations folded into the `in` expressions)",
            self.target.name(),
            self.target.registers(),
            peak.live.len(),
            list(&names),
            list(&others),
        );
        match self.origin_tokens(peak.inst) {
            Some(tokens) => syn::Error::new_spanned(tokens, message),
            None => syn::Error::new(body, message),
        }
    }

    /// How the section calls the value in `vreg`, if it has a name, after the number of
    /// the variable (the order of declaration; the runtime's own values first).
    fn name_of(&self, vreg: VReg) -> Option<(usize, String)> {
        let vars = &self.checked.vars;
        if let Some((_, source)) = self.sources.iter().find(|(v, _)| *v == vreg) {
            return Some(match source {
                Source::Area => (0, "the rseq area's address".to_string()),
                Source::Delays => (0, "the delay table's address".to_string()),
                Source::Index => (1, format!("`{}`", vars[0].name)),
                Source::Var(var) => (var + 1, format!("`{}`", vars[*var].name)),
            });
        }
        let var = self
            .var_operands
            .iter()
            .position(|operand| *operand == Some(Operand::Reg(vreg)))?;
        (vars[var].kind == VarKind::Let).then(|| (var + 1, format!("`{}`", vars[var].name)))
    }

    /// The statement instruction `inst` comes from: at the start, the inputs.
    fn origin_tokens(&self, inst: usize) -> Option<TokenStream> {
        Some(match self.origins.get(inst)? {
            Origin::Start => {
                let inputs = self.checked.inputs.iter().map(|input| {
                    let (name, ty, expr) =
                        (&self.checked.vars[input.var].name, &input.ty, &input.expr);
                    quote!(#name: #ty = #expr;)
                });
                let inputs: TokenStream = inputs.collect();
                if inputs.is_empty() {
                    return None;
                }
                inputs
            }
            Origin::Op(n) => self.checked.op_tokens.get(*n)?.clone(),
            Origin::Commit => self.checked.commit.tokens.clone(),
        })
    }
}

/// `a`, `a and b`, `a, b and c`.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use crate::arch::x86_64::X86_64;
    use crate::expand::compile_section;
    use crate::lower::Instrumentation;

    /// The message for `section`, which must be over x86_64's budget.
    fn message(section: &str) -> String {
        let tokens = section.parse().expect("the test section lexes");
        match compile_section(tokens, &X86_64, Instrumentation::default()) {
            Ok(_) => panic!("within the budget: {section}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn at_the_start_every_input_is_live() {
        // Each input is used once, in order: the pressure peaks before the first store.
        let inputs: String = (0..12).map(|i| format!("in v{i}: u64 = {i};")).collect();
        let stores: String = (0..12)
            .map(|i| format!("store *p.add({i}) = v{i};"))
            .collect();
        let message = message(&format!(
            "|cpu| {{ in p: *mut u64 = q; {inputs} {stores} commit *p = 1; }}"
        ));
        assert!(message.contains("needs 16 registers"), "{message}");
        assert!(
            message.contains("(the rseq area's address, `cpu`, `p`, `v0`, `v1`,"),
            "{message}"
        );
        assert!(message.contains("`v10` and `v11`)"), "{message}");
    }

    #[test]
    fn a_run_time_copy_counts_its_private_registers() {
        // `d`, `s` and `n` are used after the copy, so its loop takes three registers of its
        // own besides its scratch one: 9 values live across it, 4 more in it, and `status`.
        let section = |later: &str| {
            format!(
                "|cpu| {{ in d: *mut u8 = q; in s: *const u8 = r; in n: usize = 1; \
                 in a: u64 = 1; in b: u64 = 2; in c: u64 = 3; in e: u64 = 4; in f: u64 = 5; \
                 in g: u64 = 6; copy(d, s, n, max 8); \
                 commit *(d as *mut u64) = {later}; }}"
            )
        };
        let tokens = section("a + b + c + e + f + g + n as u64 + s as u64")
            .parse()
            .unwrap();
        let message = match compile_section(tokens, &X86_64, Instrumentation::default()) {
            Ok(_) => panic!("within the budget"),
            Err(error) => error.to_string(),
        };
        assert!(message.contains("needs 14 registers"), "{message}");
        assert!(
            message.contains("g` and 4 intermediate values"),
            "{message}"
        );
        // The same section where the copy's operands die there fits: the loop reuses them.
        let tokens = section("a + b + c + e + f + g").parse().unwrap();
        assert!(compile_section(tokens, &X86_64, Instrumentation::default()).is_ok());
    }

    #[test]
    fn later_only_the_values_still_needed_count() {
        // The loaded values accumulate until the commit sums them; the area and the index
        // died after the index check.
        let loads: String = (0..14)
            .map(|i| format!("let x{i}: u64 = *p.add({i});"))
            .collect();
        let sum: Vec<String> = (0..14).map(|i| format!("x{i}")).collect();
        let message = message(&format!(
            "|cpu| {{ in p: *mut u64 = q; {loads} commit *p = {}; }}",
            sum.join(" + ")
        ));
        assert!(message.contains("`p`, `x0`, `x1`"), "{message}");
        assert!(!message.contains("`cpu`"), "{message}");
        assert!(!message.contains("area"), "{message}");
    }
}
