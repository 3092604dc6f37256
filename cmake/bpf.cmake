# Helpers to build BPF programs (clang -target bpf) and their skeletons.
