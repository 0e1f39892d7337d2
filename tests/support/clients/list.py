"""The official Python client (PyPI kubernetes) against the kubeconfig in $KUBECONFIG:
config.load_kube_config(), the server version, then a CoreV1 call (list namespaces)."""
from kubernetes import client, config

config.load_kube_config()
print("version:", client.VersionApi().get_code().git_version)
print("namespaces:", " ".join(n.metadata.name for n in client.CoreV1Api().list_namespace().items))
