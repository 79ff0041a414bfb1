//! Stage 4: the whole expansion: evaluate inputs in Rust, run the `asm!` section, retry on
//! abort, and build the `Result<Outcome<T, E>, Unavailable>`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};

use crate::arch::{self, Backend, MAX_EXITS, STATUS_COMMITTED, STATUS_EXITED, STATUS_FIRST_TRAP};
use crate::check::{self, Checked, IndexMode};
use crate::gate;
use crate::lower::{
    self, Const, FieldLimit, Instrumentation, Lowered, Operand, Source, CPU_ID_OFFSET,
    CPU_ID_START_OFFSET, MM_CID_OFFSET, RSEQ_CS_OFFSET,
};
use crate::parse;
use crate::ty::Ty;

/// `rseq!` from tokens to tokens; errors become `compile_error!`s beside a fallback.
///
/// A proc-macro runs on the host and cannot see the target (Cargo sets
/// `CARGO_CFG_TARGET_ARCH` only for build scripts), so the section is compiled for every
/// backend, and the runtime's `__rseq_backend!` keeps the target's (see [`every_backend`]).
///
/// The test instrumentation is chosen by the build's cfgs, which rseq-dsl reads
/// ([`gate::gate`]); this is the plain expansion, behind that gate.
pub fn rseq(input: TokenStream) -> TokenStream {
    let plain = every_backend(&input, Instrumentation::default());
    gate::gate(&input, plain)
}

/// The hidden `__rseq_instrumented!([flags] section)`: `rseq!` with test instrumentation,
/// which the gate of an instrumented build calls.
pub fn rseq_instrumented(input: TokenStream) -> TokenStream {
    match gate::split_flags(input) {
        Ok((instrumentation, section)) => every_backend(&section, instrumentation),
        Err(error) => error.to_compile_error(),
    }
}

/// The section compiled by each backend, one arm each, and a `none` arm for targets
/// without a backend; the runtime's `__rseq_backend!` keeps the arm of the target being
/// built (the runtime's `abi` module is the one list of which target has which backend).
///
/// The `none` arm is checked exactly as the reference backend (the first of
/// [`arch::BACKENDS`], x86_64, what CI builds) checks it: a developer on macOS or Windows
/// sees the errors CI sees, and rustc's checks of the inputs, fields and types run there
/// too. Its value is the runtime's `Unavailable` error naming the target.
fn every_backend(input: &TokenStream, instrumentation: Instrumentation) -> TokenStream {
    let mut arms = Vec::new();
    let mut unsupported = None;
    // The reference backend's section as a 32-bit backend's arm, where that backend takes
    // no section of it (`lower::wide_value`, or more registers than it has): it returns
    // `Err(Unavailable)` there, and its caller takes its fallback.
    let mut no_section: Option<TokenStream> = None;
    for (arch, backend) in arch::BACKENDS {
        let backend: &dyn Backend = backend;
        let (expansion, without_backend) =
            match compile_section(input.clone(), backend, instrumentation) {
                Ok((checked, lowered)) => {
                    no_section.get_or_insert_with(|| {
                        let error = quote!(::rseq_dsl::__private::no_section());
                        unavailable_expansion(&checked, &lowered, backend.name(), error)
                    });
                    let template = backend.emit(&lowered);
                    (
                        expansion(&checked, &lowered, &template, backend.name()),
                        unsupported_expansion(&checked, &lowered, backend.name()),
                    )
                }
                Err(_) if backend.word_bits() < 64 && no_section.is_some() => {
                    let no_section = no_section.clone().expect("checked");
                    (no_section.clone(), no_section)
                }
                Err(error) => {
                    let fallback = fallback(error, input);
                    (fallback.clone(), fallback)
                }
            };
        unsupported.get_or_insert(without_backend);
        let arch = format_ident!("{}", arch);
        arms.push(quote!(#arch => { #expansion }));
    }
    let unsupported = unsupported.expect("at least one backend");
    quote! {
        ::rseq_dsl::__rseq_backend! {
            #(#arms)*
            none => { #unsupported }
        }
    }
}

/// Parse, check and lower a section for `backend`, without building the expansion.
pub fn compile_section(
    input: TokenStream,
    backend: &dyn Backend,
    instrumentation: Instrumentation,
) -> syn::Result<(Checked, Lowered)> {
    let section = parse::parse_section(input)?;
    let checked = check::check(section)?;
    if checked
        .ops
        .iter()
        .filter(|op| matches!(op, check::Op::ExitIf { .. }))
        .count()
        > MAX_EXITS
    {
        return Err(syn::Error::new(
            checked.body_span,
            format!("a section may have at most {MAX_EXITS} exits"),
        ));
    }
    let lowered = lower::lower(&checked, backend, checked.body_span, instrumentation)?;
    Ok((checked, lowered))
}

/// After an error: the errors, and an expression of the right shape so that the caller's
/// code still type-checks and no follow-up error comes from generated code.
///
/// The value does not diverge (that would make the caller's following code "unreachable"),
/// and the `in` expressions with a type the section accepts are kept, never run, so that
/// the caller's locals stay used and their own type errors still show.
fn fallback(error: syn::Error, input: &TokenStream) -> TokenStream {
    let errors = error.to_compile_error();
    let inputs = parse::parse_section(input.clone()).ok().map(|section| {
        let index = &section.index;
        let lets = section.stmts.iter().filter_map(|stmt| match stmt {
            parse::Stmt::Input(input) if crate::ty::from_syn(&input.ty).is_ok() => {
                let (name, ty, expr) = (&input.name, &input.ty, &input.expr);
                Some(quote!(#[allow(unused_variables)] let #name: #ty = #expr;))
            }
            _ => None,
        });
        quote! {
            if false {
                #[allow(unused_variables)]
                let #index: usize = 0;
                #(#lets)*
            }
        }
    });
    quote! {{
        #errors
        #inputs
        ::core::result::Result::<::rseq_dsl::Outcome<_, _>, ::rseq_dsl::Unavailable>::Ok(
            ::rseq_dsl::Outcome::Aborted,
        )
    }}
}

/// Names of the `asm!` label operands: the abort edge, each exit, each compare-twice check.
pub const ABORT_OPERAND: &str = "abort";

pub fn exit_operand(exit: usize) -> String {
    format!("exit{exit}")
}

pub fn trap_operand(check: usize) -> String {
    format!("trap{check}")
}

/// A section that returns nothing computed is `asm goto` ([`Lowered::goto`]): the committed
/// path falls through the end of the template, while the abort, each exit and each
/// compare-twice check leave through label operands (Rust blocks), so no status is
/// computed, returned and tested; an exit's constant value is its label block's. A section
/// that yields a value, or exits with a register's value, returns them with a status in
/// output registers (`asm goto` takes no outputs on stable Rust, and a stack slot would
/// cost the caller its tail calls).
fn expansion(checked: &Checked, lowered: &Lowered, template: &[String], arch: &str) -> TokenStream {
    let site = Span::mixed_site();
    let area = quote_spanned!(site=> __rseq_area);
    let attempt = quote_spanned!(site=> '__rseq_attempt);
    let section = quote_spanned!(site=> '__rseq_section);
    let index = &checked.index;

    // `cpu_id` sections read their index from `cpu_id_start` and compare `cpu_id` inside:
    // on the stand-in area of an unregistered thread the two differ and the section aborts,
    // so the fast path checks nothing. `mm_cid` has no such pair (the stand-in's `mm_cid`
    // is a valid index), so those sections take a checked area.
    let (read_offset, read_offset_name, index_offset_name, index_offset) = match checked.mode {
        IndexMode::CpuId => (
            CPU_ID_START_OFFSET as usize,
            quote!(CPU_ID_START_OFFSET),
            quote!(CPU_ID_OFFSET),
            CPU_ID_OFFSET as usize,
        ),
        IndexMode::MmCid => (
            MM_CID_OFFSET as usize,
            quote!(MM_CID_OFFSET),
            quote!(MM_CID_OFFSET),
            MM_CID_OFFSET as usize,
        ),
    };
    let rseq_cs_offset = RSEQ_CS_OFFSET as usize;

    let inputs = checked.inputs.iter().map(|input| {
        let name = &checked.vars[input.var].name;
        let ty = &input.ty;
        let expr = &input.expr;
        quote!(let #name: #ty = #expr;)
    });

    let class = format_ident!("{}", lowered.register_class);
    let mut operands = Vec::new();
    for slot_number in 0..lowered.alloc.slot_count {
        let name = format_ident!("s{}", slot_number);
        let initial = lowered
            .sources
            .iter()
            .find(|(vreg, _)| lowered.alloc.slot_of[*vreg] == slot_number)
            .map(|(_, source)| match source {
                Source::Area => quote!(#area.as_ptr()),
                Source::Index => quote!(#index),
                Source::Var(var) => {
                    register_image(&checked.vars[*var].name, &checked.vars[*var].ty)
                }
                Source::Delays => quote!(::rseq_dsl::__private::delay_table()),
            });
        let written = lowered.alloc.written[slot_number];
        operands.push(match (initial, written) {
            (Some(value), false) => quote!(#name = in(#class) #value),
            (Some(value), true) => quote!(#name = inout(#class) #value => _),
            (None, _) => quote!(#name = out(#class) _),
        });
    }
    let goto = lowered.goto;
    // i686 finds the descriptor with a `call` (`Target::uses_stack`).
    let options = if lowered.uses_stack {
        quote!()
    } else {
        quote!(options(nostack))
    };
    let status = quote_spanned!(site=> __rseq_status);
    let result = quote_spanned!(site=> __rseq_result);
    let has_result =
        !goto && (lowered.yielded.is_some() || lowered.exits.iter().any(Option::is_some));
    let scratch_class = format_ident!("{}", lowered.scratch_class);
    if goto {
        operands.push(quote!(scratch = out(#scratch_class) _));
    } else {
        operands.push(quote!(scratch = out(#scratch_class) #status));
    }
    if has_result {
        operands.push(quote!(result = out(#class) #result));
    }
    for (n, value) in lowered.consts.iter().enumerate() {
        let name = format_ident!("c{}", n);
        let value = const_value(checked, value);
        operands.push(quote!(#name = const #value));
    }
    let field_checks = field_checks(checked, lowered, arch);
    for register in &lowered.clobbers {
        operands.push(quote!(out(#register) _));
    }
    let outcome = outcome_type(checked);
    let yield_value = match checked.yielded.map(|var| checked.vars[var].ty.to_rust()) {
        Some(ty) => quote!(#result as #ty),
        None => quote!(()),
    };
    let exit_ty = checked.exit_ty.as_ref().map(Ty::to_rust);
    // A compiler fence (no instruction) in each label block keeps it a block of its own:
    // without one, LLVM folds the block into the values its edge carries and materialises
    // them before the `asm!` (an `asm goto` edge cannot be split), where they take registers
    // the section needs, and the caller saves one more.
    let edge_fence =
        quote!(::core::sync::atomic::compiler_fence(::core::sync::atomic::Ordering::SeqCst););
    let exit_labels = lowered.exits.iter().enumerate().map(|(exit, value)| {
        let name = format_ident!("{}", exit_operand(exit));
        let value = match (value, &exit_ty) {
            (_, None) | (None, _) => quote!(()),
            // Lowering gives a section with such an exit a status instead of `asm goto`.
            (Some(Operand::Reg(_)), Some(_)) => {
                quote!(::core::compile_error!("rseq!: internal error: an exit's register value without a status"))
            }
            (Some(Operand::Imm(value)), Some(ty)) => {
                let value = proc_macro2::Literal::i64_suffixed(*value);
                quote!(#value as usize as #ty)
            }
            (Some(Operand::SizeOf(konst)), Some(ty)) => {
                let value = const_value(checked, &lowered.consts[*konst]);
                quote!((#value) as #ty)
            }
        };
        quote! {
            #name = label {
                #edge_fence
                break #section ::core::result::Result::Ok(#outcome::Exited { index: #index, value: #value });
            }
        }
    });
    let trap_labels = (0..lowered.checks.len()).map(|check| {
        let name = format_ident!("{}", trap_operand(check));
        let checks = &lowered.checks;
        quote! {
            #name = label {
                ::rseq_dsl::__private::compare_twice_failed(#check, &[#(#checks),*]);
            }
        }
    });
    let abort_label = format_ident!("{}", ABORT_OPERAND);

    let inputs: Vec<TokenStream> = inputs.collect();
    let exit_labels: Vec<TokenStream> = exit_labels.collect();
    let trap_labels: Vec<TokenStream> = trap_labels.collect();
    // The section's `asm!`, leaving the enclosing block when it aborts, breaking out of the
    // section's block with its outcome otherwise.
    let run_asm = if goto {
        quote! {
            #attempt: {
                ::core::arch::asm!(
                    #(#template),*,
                    #(#operands),*,
                    #abort_label = label { #edge_fence break #attempt; },
                    #(#exit_labels,)*
                    #(#trap_labels,)*
                    #options
                );
                break #section ::core::result::Result::Ok(#outcome::Committed {
                    index: #index,
                    value: #yield_value,
                });
            }
        }
    } else {
        let result_decl = has_result.then(|| quote!(let #result: usize;));
        let exit_value = match &exit_ty {
            Some(ty) => quote!(#result as #ty),
            None => quote!(()),
        };
        let exited = (!lowered.exits.is_empty()).then(|| {
            quote! {
                if #status == #STATUS_EXITED {
                    break #section ::core::result::Result::Ok(#outcome::Exited { index: #index, value: #exit_value });
                }
            }
        });
        let trapped = (!lowered.checks.is_empty()).then(|| {
            let checks = &lowered.checks;
            quote! {
                if #status >= #STATUS_FIRST_TRAP {
                    ::rseq_dsl::__private::compare_twice_failed(#status - #STATUS_FIRST_TRAP, &[#(#checks),*]);
                }
            }
        });
        quote! {
            let #status: usize;
            #result_decl
            ::core::arch::asm!(
                #(#template),*,
                #(#operands),*,
                #options
            );
            if #status == #STATUS_COMMITTED {
                break #section ::core::result::Result::Ok(#outcome::Committed {
                    index: #index,
                    value: #yield_value,
                });
            }
            #exited
            #trapped
        }
    };
    // One attempt on the area `get_area` finds, then `after_abort` when it aborted.
    let attempt_on = |get_area: TokenStream, after_abort: TokenStream| {
        quote! {
            #get_area
            let #index: usize = ::rseq_dsl::__private::read_index(#area, #read_offset);
            #(#inputs)*
            #run_asm
            #after_abort
        }
    };

    // The fast path is one attempt with no call on any path and no loop, so that nothing
    // the slow path needs (addresses of functions, the stand-in area) is hoisted into
    // registers the caller must save: a function around a section saves no register on its
    // fast path. The slow path (registration, counting aborts, retries) is a second copy of
    // the attempt in a loop; rustc reports an error in the caller's tokens once.
    //
    // `cpu_id` sections take the area with no check: on the stand-in area of an
    // unregistered thread `cpu_id_start` (the index) and `cpu_id` differ and the section
    // aborts. `mm_cid` has no such pair (the stand-in's `mm_cid` is a valid index), so those
    // sections take a checked area. A `registered` section never registers and makes no
    // call on any path: with the `stats` feature, counting is an atomic add, which is a call
    // on aarch64 without LSE (an outline atomic), so its caller counts the aborts it sees on
    // its slow path (`rseq_dsl::stats::record_abort()`), as the allocator does.
    let registered = checked.registered_only;
    let fast = quote_spanned!(site=> '__rseq_fast);
    let err = |error: TokenStream| quote!(break #section ::core::result::Result::Err(#error));
    let aborted = quote!(break #section ::core::result::Result::Ok(#outcome::Aborted););
    let give_up = (!checked.retry).then(|| aborted.clone());
    let record_abort = (!registered).then(|| quote!(::rseq_dsl::__private::record_abort();));
    let not_registered = err(quote!(::rseq_dsl::__private::not_registered()));
    let reassign_checked = |accessor: TokenStream| {
        quote! {
            #area = match ::rseq_dsl::__private::#accessor() {
                ::core::result::Result::Ok(area) => area,
                ::core::result::Result::Err(error) => break #section ::core::result::Result::Err(error),
            };
        }
    };
    let checked_area = |accessor: TokenStream, on_error: TokenStream| {
        quote! {
            let #area = match ::rseq_dsl::__private::#accessor() {
                ::core::result::Result::Ok(area) => area,
                ::core::result::Result::Err(error) => #on_error,
            };
        }
    };
    // The slow path: an area (registering the thread where it may), then attempts in a loop
    // that makes no call (a call there would have the compiler hoist addresses into saved
    // registers for the whole function), taking the area again after each abort (a signal
    // handler may have retired it).
    let hint_or_unavailable = |accessor: TokenStream, unavailable: TokenStream| {
        quote! {
            #area = ::rseq_dsl::__private::#accessor();
            if ::rseq_dsl::__private::is_unregistered(#area) {
                #unavailable;
            }
        }
    };
    let (fast_area, fast_abort, slow_setup, slow_refresh) = match (checked.mode, registered) {
        (IndexMode::CpuId, false) => (
            quote!(let #area = ::rseq_dsl::__private::area_hint();),
            // A flag of the thread's rather than the area kept: keeping the area (or the
            // address to read it again) live across the section takes one more register.
            quote! {
                if !::rseq_dsl::__private::thread_unregistered() {
                    #record_abort
                    #give_up
                }
            },
            hint_or_unavailable(
                quote!(register_hint),
                err(quote!(::rseq_dsl::__private::unavailable())),
            ),
            hint_or_unavailable(
                quote!(area_hint),
                err(quote!(::rseq_dsl::__private::unavailable())),
            ),
        ),
        (IndexMode::CpuId, true) => (
            quote!(let #area = ::rseq_dsl::__private::area_hint();),
            quote! {
                if ::rseq_dsl::__private::thread_unregistered() {
                    #not_registered;
                }
                #give_up
            },
            hint_or_unavailable(quote!(area_hint), not_registered.clone()),
            hint_or_unavailable(quote!(area_hint), not_registered.clone()),
        ),
        (IndexMode::MmCid, false) => (
            checked_area(quote!(area_for_mm_cid_registered), quote!(break #fast)),
            quote!(#record_abort #give_up),
            reassign_checked(quote!(area_for_mm_cid)),
            reassign_checked(quote!(area_for_mm_cid_registered)),
        ),
        (IndexMode::MmCid, true) => (
            checked_area(quote!(area_for_mm_cid_registered), err(quote!(error))),
            quote!(#give_up),
            reassign_checked(quote!(area_for_mm_cid_registered)),
            reassign_checked(quote!(area_for_mm_cid_registered)),
        ),
    };
    let fast_attempt = attempt_on(fast_area, fast_abort);
    // Only a `mm_cid` section's fast path may leave early for the slow path.
    let fast_block = if checked.mode == IndexMode::MmCid && !registered {
        quote!(#fast: { #fast_attempt })
    } else {
        quote!({ #fast_attempt })
    };
    let slow_loop = (checked.retry || !registered).then(|| {
        let slow_attempt = attempt_on(quote!(), quote!(#record_abort #give_up));
        let refresh = checked.retry.then_some(slow_refresh);
        let mutable = checked.retry.then(|| quote!(mut));
        quote! {
            let #mutable #area: ::core::ptr::NonNull<::rseq_dsl::abi::RseqArea>;
            #slow_setup
            loop {
                #slow_attempt
                #refresh
            }
        }
    });

    quote! {{
        // The macro mirrors these offsets; this fails the build if they ever disagree.
        const _: () = ::core::assert!(
            ::rseq_dsl::abi::#read_offset_name == #read_offset
                && ::rseq_dsl::abi::#index_offset_name == #index_offset
                && ::rseq_dsl::abi::RSEQ_CS_OFFSET == #rseq_cs_offset
        );
        #field_checks
        #section: {
            #fast_block
            #slow_loop
        }
    }}
}

fn const_value(checked: &Checked, value: &Const) -> TokenStream {
    match value {
        Const::SizeOf(ty) => quote!(::core::mem::size_of::<#ty>()),
        Const::FieldOffset(field) => offset_of(&checked.fields[*field]),
    }
}

/// `Outcome<Y, E>` of a section: what it yields and what its exits carry (`()` if nothing).
fn outcome_type(checked: &Checked) -> TokenStream {
    let unit = quote!(());
    let yield_ty = checked
        .yielded
        .map_or(unit.clone(), |var| checked.vars[var].ty.to_rust());
    let exit_ty = checked.exit_ty.as_ref().map_or(unit, Ty::to_rust);
    quote!(::rseq_dsl::Outcome::<#yield_ty, #exit_ty>)
}

/// A valid section on a target without a backend: everything rustc checks of it on a
/// backend target (offsets, field types and bounds, the inputs' types, `unsafe`), and the
/// runtime's error naming the target as its value. The inputs are type-checked, never run,
/// as on a backend target where rseq is unavailable.
fn unsupported_expansion(checked: &Checked, lowered: &Lowered, arch: &str) -> TokenStream {
    let error = quote!(::rseq_dsl::__private::unsupported_target());
    unavailable_expansion(checked, lowered, arch, error)
}

/// A section that returns `error` (an `Unavailable`), never running, checked as on a
/// backend target.
fn unavailable_expansion(
    checked: &Checked,
    lowered: &Lowered,
    arch: &str,
    error: TokenStream,
) -> TokenStream {
    let index = &checked.index;
    let outcome = outcome_type(checked);
    let field_checks = field_checks(checked, lowered, arch);
    let inputs = checked.inputs.iter().map(|input| {
        let name = &checked.vars[input.var].name;
        let (ty, expr) = (&input.ty, &input.expr);
        quote!(#[allow(unused_variables)] let #name: #ty = #expr;)
    });
    quote! {{
        #field_checks
        if false {
            // The index read of a backend target, never run: it is what makes a section
            // outside `unsafe` an error there, with the same message as here.
            #[allow(unused_variables)]
            let #index: usize = ::rseq_dsl::__private::read_index(
                ::core::ptr::NonNull::dangling(),
                ::rseq_dsl::abi::CPU_ID_OFFSET,
            );
            #(#inputs)*
        }
        ::core::result::Result::<#outcome, ::rseq_dsl::Unavailable>::Err(#error)
    }}
}

/// An input as a full 64-bit register image: narrow values are widened the way the
/// section expects (sign- or zero-extended), because `asm!` leaves upper bits undefined.
fn register_image(name: &syn::Ident, ty: &Ty) -> TokenStream {
    match ty {
        Ty::Ptr { .. } => quote!(#name),
        // Word-sized, as the registers are on every target (64-bit integers are refused
        // on 32-bit ones).
        Ty::Int(int) if int.signed => quote!(#name as isize),
        Ty::Int(_) => quote!(#name as usize),
    }
}

/// `offset_of!(Struct, a.b)` for a field use, on the user's tokens.
fn offset_of(field: &check::Field) -> TokenStream {
    let (strukt, members) = (&field.strukt, &field.members);
    quote_spanned!(field.span=> ::core::mem::offset_of!(#strukt, #(#members).*))
}

/// What rustc checks about the fields a section uses, each on the user's tokens: that a
/// field has the type the section gives it (or, indexed, that it is an array of it), and
/// that its offset is within the bound the backend's instructions put on it.
fn field_checks(checked: &Checked, lowered: &Lowered, arch: &str) -> TokenStream {
    let types = checked.fields.iter().map(|field| {
        let (strukt, members, ty) = (&field.strukt, &field.members, &field.ty);
        // The section's type given, the field's inferred; rustc reports a mismatch on the
        // inferred one, so it carries the field's span.
        let check = if field.element {
            quote_spanned!(field.span=> element_is)
        } else {
            quote_spanned!(field.span=> field_is)
        };
        let inferred = quote_spanned!(field.span=> _);
        quote_spanned!(field.span=>
            let _ = |__rseq_struct: &#strukt| {
                ::rseq_dsl::__private::#check::<#ty, #inferred>(&__rseq_struct.#(#members).*)
            };
        )
    });
    // The tightest bound on each offset, over every instruction it is folded into.
    let mut bounds: Vec<(usize, FieldLimit)> = Vec::new();
    for (konst, limit) in &lowered.field_limits {
        match bounds.iter_mut().find(|(other, _)| other == konst) {
            Some((_, bound)) => {
                bound.max = bound.max.min(limit.max);
                bound.multiple = bound.multiple.max(limit.multiple);
            }
            None => bounds.push((*konst, *limit)),
        }
    }
    let limits = bounds.iter().filter_map(|(konst, limit)| {
        let Const::FieldOffset(field) = lowered.consts[*konst] else {
            return None;
        };
        let field = &checked.fields[field];
        let offset = offset_of(field);
        let (max, multiple) = (limit.max as usize, limit.multiple as usize);
        let message = format!(
            "the field `{}` lies too far into `{}` for rseq! on {arch}: a field's offset is folded into one instruction there, which reaches {max} bytes{}; bring the field's address in as an input instead, `in name: *mut T = &raw mut {};`",
            field.text,
            field.strukt.to_token_stream().to_string().replace(' ', ""),
            if multiple > 1 { format!(" (at multiples of {multiple})") } else { String::new() },
            field.text,
        );
        let aligned = (multiple > 1).then(|| quote_spanned!(field.span=> && #offset % #multiple == 0));
        Some(quote_spanned!(field.span=>
            const _: () = ::core::assert!(#offset <= #max #aligned, #message);
        ))
    });
    quote!(#(#types)* #(#limits)*)
}
