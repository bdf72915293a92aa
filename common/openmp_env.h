// common/openmp_env.h — OpenMP's wait policy for a shared machine.
//
// libgomp's default lets a thread that reaches a barrier spin for ~0.3 ms before sleeping. On a
// machine whose cores are busy with other work (the browser drawing the explorer, a second
// tagscape), the spinning thread burns the time slice its partner needs to reach the barrier,
// and loops with many short parallel regions (t-SNE, UMAP: several per iteration) stall.
// Measured on 2 cores with two busy loops beside it: t-SNE 10k took 16-40 s with the default,
// 10-11 s with OMP_WAIT_POLICY=passive; on the idle machine 3.85-4.04 s with either. libgomp
// reads the variable when it is loaded, before main, so the only way to change it for our own
// process is to set it and re-execute once.
#pragma once

namespace tagscape {

// Call first thing in main(). When OMP_WAIT_POLICY is unset, sets it to "passive" and re-executes
// /proc/self/exe with the same argv (returns only if that fails, leaving the policy as it was
// for this process). A user's own OMP_WAIT_POLICY is kept as it is.
void use_passive_openmp_wait(char** argv);

}  // namespace tagscape
