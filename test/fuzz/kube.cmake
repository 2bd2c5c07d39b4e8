ahpa_fuzz_target(kubewatch DEPS kube)
