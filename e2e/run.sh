#!/usr/bin/env bash
# End-to-end suite on a throwaway kind cluster: build and load the image, install the chart, apply the
# municipal example, wait for Ready, run a simulated election and check its counts.
#
#   e2e/run.sh            # needs docker, kind, kubectl and helm
#   KEEP_CLUSTER=1 e2e/run.sh
#
# Without those tools it prints why it was skipped and exits 0 without claiming a pass.
set -euo pipefail

cd "$(dirname "$0")/.."
CLUSTER=${CLUSTER:-urna-e2e}
IMAGE=${IMAGE:-ghcr.io/urna-dev/urna:e2e}
NS=ciudad
ELECTION=ciudad-2027
VOTERS=${VOTERS:-60}

missing=()
for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "e2e skipped: ${missing[*]} not found on PATH (the suite needs docker, kind, kubectl and helm); nothing was tested"
  exit 0
fi
if ! docker info >/dev/null 2>&1; then
  echo "e2e skipped: the docker daemon is not reachable; nothing was tested"
  exit 0
fi

step() { printf '\n== %s\n' "$*"; }
cleanup() {
  if [[ "${KEEP_CLUSTER:-0}" != 1 ]]; then kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

step "kind cluster $CLUSTER"
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --wait 180s

step "image $IMAGE"
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

step "chart"
helm upgrade --install urna charts/urna --namespace urna-system --create-namespace \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never \
  --set replicaCount=2 --wait --timeout 180s
kubectl get crd elections.urna.dev mesas.urna.dev boothfleets.urna.dev tallyshards.urna.dev

step "municipal example, with its windows moved to now"
kubectl apply -f examples/municipal/00-namespace.yaml
opens=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)
closes=$(date -u -d '+6 minutes' +%Y-%m-%dT%H:%M:%SZ)
sed -e "s/\"2027-06-0[16]T08:00:00-06:00\"/\"$opens\"/" -e "s/\"2027-06-06T18:00:00-06:00\"/\"$closes\"/" \
  examples/municipal/*.yaml | kubectl apply -f -

step "wait for Ready"
kubectl -n "$NS" wait --for=condition=Ready "election/$ELECTION" --timeout=300s
kubectl -n "$NS" get urna
test "$(kubectl -n "$NS" get tallyshards -o name | wc -l)" -eq 6

step "deletion refused while Open"
kubectl -n "$NS" wait --for=jsonpath='{.status.phase}'=Open "election/$ELECTION" --timeout=180s
kubectl -n "$NS" delete "election/$ELECTION" --wait=false
sleep 5
kubectl -n "$NS" get "election/$ELECTION" -o jsonpath='{.metadata.deletionTimestamp}' | grep -q .
kubectl -n "$NS" get events --field-selector reason=DeletionRefused -o name | grep -q .

step "simulated election: $VOTERS voters through the vote service"
kubectl -n "$NS" run simulate --rm -i --restart=Never --image="$IMAGE" --image-pull-policy=Never -- \
  simulate --vote "http://$ELECTION-vote.$NS:8080" --manifest-config-map "$ELECTION-manifest" --voters "$VOTERS"

step "close, seal and check the counts"
kubectl -n "$NS" wait --for=jsonpath='{.status.phase}'=Tallying "election/$ELECTION" --timeout=600s
got=$(kubectl -n "$NS" get "election/$ELECTION" -o jsonpath='{.status.ballotsRecorded}')
if [[ "$got" != "$VOTERS" ]]; then
  echo "FAIL: ballotsRecorded=$got, expected $VOTERS"
  exit 1
fi
kubectl -n "$NS" get pvc -o name | grep -q data-
echo
echo "e2e passed: $VOTERS ballots recorded and tallied"
