// The official JavaScript client (@kubernetes/client-node) against the kubeconfig in
// $KUBECONFIG: the server version, then a CoreV1 call (list namespaces).
// usage: node list.mjs /path/to/@kubernetes/client-node/dist/index.js
import { pathToFileURL } from 'node:url';

const k8s = await import(pathToFileURL(process.argv[2]).href);
const kc = new k8s.KubeConfig();
kc.loadFromDefault();
try {
  const version = await kc.makeApiClient(k8s.VersionApi).getCode();
  console.log('version:', version.gitVersion);
  const namespaces = await kc.makeApiClient(k8s.CoreV1Api).listNamespace();
  console.log('namespaces:', namespaces.items.map((n) => n.metadata.name).join(' '));
} catch (e) {
  console.error('client-node failed:', e.message);
  process.exit(1);
}
