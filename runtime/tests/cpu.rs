//! CPU, concurrency id and NUMA node reads against the kernel's own answers.
//!
//! The first test pins a thread to each CPU and reads the rseq area: a target with an rseq
//! backend. The second holds everywhere: `current_cpu()` stays below `possible_cpus()`.

#[cfg(rseq_dsl_sections)]
mod common;

#[cfg(rseq_dsl_sections)]
use common::{allowed_cpus, getcpu_node, pin_to, sched_getcpu};
#[cfg(rseq_dsl_sections)]
use rseq_dsl_runtime::abi::{MM_CID_OFFSET, NODE_ID_OFFSET};
use rseq_dsl_runtime::{current_cpu, possible_cpus};
#[cfg(rseq_dsl_sections)]
use rseq_dsl_runtime::{mm_cid, node_id, registration};

#[cfg(rseq_dsl_sections)]
#[test]
fn current_cpu_matches_sched_getcpu_on_each_allowed_cpu() {
    let cpus = allowed_cpus();
    assert!(!cpus.is_empty());
    // Pin a thread of our own, so that the other tests keep their affinity.
    std::thread::spawn(move || {
        let feature_size = registration().expect("registration").feature_size;
        let has_node = feature_size >= (NODE_ID_OFFSET + 4) as u32;
        let has_cid = feature_size >= (MM_CID_OFFSET + 4) as u32;
        // Three passes, so that each pin is a real migration from another CPU (where the
        // machine has more than one).
        for pass in 0..3 {
            for &cpu in &cpus {
                pin_to(&[cpu]);
                assert_eq!(
                    sched_getcpu(),
                    cpu,
                    "pass {pass}: the kernel did not migrate us"
                );
                assert_eq!(current_cpu(), cpu, "pass {pass}: rseq cpu_id is stale");
                assert_eq!(node_id().is_some(), has_node);
                if let Some(node) = node_id() {
                    assert_eq!(node, getcpu_node(), "node_id disagrees with getcpu");
                }
                assert_eq!(mm_cid().is_some(), has_cid);
                if let Some(cid) = mm_cid() {
                    // Compact: below the number of CPUs the process may use.
                    assert!(cid < possible_cpus(), "mm_cid {cid}");
                }
            }
        }
        // This kernel (6.3+) maintains both.
        println!("feature size {feature_size}, node_id {has_node}, mm_cid {has_cid}");
    })
    .join()
    .unwrap();
}

#[test]
fn current_cpu_is_always_a_possible_cpu() {
    let possible = possible_cpus();
    for _ in 0..100_000 {
        let cpu = current_cpu();
        assert!(cpu < possible, "cpu {cpu} of {possible}");
    }
}
