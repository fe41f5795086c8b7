// Package deploy is the production deployment of ZARISH SPHERE: the
// Dockerfile, the Kubernetes manifests (kustomize), the docker compose
// stack, and the tests that hold them to the code — the binary's roles and
// flags, the task queues, the routes the probes call, the configuration's
// variable names and the drain the processes do on stop.
package deploy
