"""The pieces of the local Kubernetes control plane: builds, certificates, kubeconfig, flags, kwok config."""
