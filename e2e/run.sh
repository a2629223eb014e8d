#!/usr/bin/env bash
# End-to-end suite on a throwaway kind cluster: build and load the image, install the chart, apply the
# municipal example (its keys replaced by the committed test ceremony's, a fresh census of e2e voters and a
# fresh voting-right key), wait for Ready, then run a whole simulated election inside the cluster as a Job
# (e2e/election-job.yaml: cast, close, export the record, decrypt with 3 of 5 trustees, verify) and check
# its summary and the Election's counts.
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
for tool in docker kind kubectl helm openssl; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "e2e skipped: ${missing[*]} not found on PATH (the suite needs docker, kind, kubectl, helm and openssl); nothing was tested"
  exit 0
fi
if ! docker info >/dev/null 2>&1; then
  echo "e2e skipped: the docker daemon is not reachable; nothing was tested"
  exit 0
fi

step() { printf '\n== %s\n' "$*"; }
WORK=$(mktemp -d)
cleanup() {
  rm -rf "$WORK"
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

step "keys and census for the e2e election"
# The committed 3-of-5 test ceremony (public passphrases trustee-<i>): the Election's Paillier modulus
# becomes its n, so the trustees in the Job can decrypt what the voters encrypt.
CEREMONY=workloads/crypto/tests/fixtures/ceremony-3072
modulus=$(sed -n 's/^ *"n": "\([0-9a-f]*\)".*/\1/p' "$CEREMONY/public.json" | head -n 1)
test -n "$modulus"
for i in 1 2 3; do printf 'trustee-%s' "$i" >"$WORK/trustee-$i.passphrase"; done
# The voting-right key (partially blind RSA needs safe primes: the committed 3072-bit fixture, made by
# `urna voting-key`) and the vote service's admin token.
cp workloads/crypto/tests/fixtures/voting-right-3072.pem "$WORK/signing-key.pem"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/admin-token"
# VOTERS voters with one-time credentials: census.csv for the vote service, voters.csv for the Job.
# As the invoking user, so the files (voters.csv is 0600) stay readable here.
mkdir -p "$WORK/voters"
docker run --rm --user "$(id -u):$(id -g)" -v "$WORK/voters:/out" "$IMAGE" \
  voters census --count "$VOTERS" --districts centro,norte,sur --modality remote --out /out

step "municipal example, with its windows moved to now"
kubectl apply -f examples/municipal/00-namespace.yaml
opens=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)
# Long enough for VOTERS 3072-bit ballots to be cast inside the window on a laptop-sized kind cluster.
closes=$(date -u -d '+15 minutes' +%Y-%m-%dT%H:%M:%SZ)
sed -e "s/\"2027-06-0[16]T08:00:00-06:00\"/\"$opens\"/" -e "s/\"2027-06-06T18:00:00-06:00\"/\"$closes\"/" \
  -e "s/^\( *paillierModulus:\).*/\1 $modulus/" \
  examples/municipal/*.yaml | kubectl apply -f -
# Replace the example's three-voter census before the vote pods can start: they wait for the signing-key
# Secret, created just after.
kubectl -n "$NS" create configmap "$ELECTION-census" --from-file=census.csv="$WORK/voters/census.csv" \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$NS" create secret generic "$ELECTION-vote-admin" --from-file=token="$WORK/admin-token"
kubectl -n "$NS" create secret generic e2e-voters --from-file=voters.csv="$WORK/voters/voters.csv"
kubectl -n "$NS" create secret generic e2e-ceremony \
  --from-file="$CEREMONY/public.json" --from-file="$CEREMONY/transcript.json" \
  --from-file="$CEREMONY/trustee-1.share.json" --from-file="$CEREMONY/trustee-2.share.json" \
  --from-file="$CEREMONY/trustee-3.share.json" --from-file="$WORK/trustee-1.passphrase" \
  --from-file="$WORK/trustee-2.passphrase" --from-file="$WORK/trustee-3.passphrase"
kubectl -n "$NS" create secret generic "$ELECTION-vote-signing-key" --from-file=signing-key.pem="$WORK/signing-key.pem"

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

step "simulated election in the cluster: $VOTERS voters, close, record, 3-of-5 decryption, verification"
sed "s|__IMAGE__|$IMAGE|" e2e/election-job.yaml | kubectl apply -f -
if ! kubectl -n "$NS" wait --for=condition=Complete job/e2e-election --timeout=1200s; then
  kubectl -n "$NS" logs job/e2e-election --tail=50 || true
  echo "FAIL: the election Job did not complete"
  exit 1
fi
summary=$(kubectl -n "$NS" logs job/e2e-election | tail -n 1)
echo "$summary"
# `urna voters run` prints compact JSON; it already failed unless recorded == cast and the record verified.
for want in "\"cast\":$VOTERS" "\"recorded\":$VOTERS" '"trustees":[1,2,3]'; do
  if [[ "$summary" != *"$want"* ]]; then
    echo "FAIL: the election summary lacks $want"
    exit 1
  fi
done

step "the operator sees the sealed shards and the recorded ballots"
kubectl -n "$NS" wait --for=jsonpath='{.status.phase}'=Tallying "election/$ELECTION" --timeout=1200s
got=$(kubectl -n "$NS" get "election/$ELECTION" -o jsonpath='{.status.ballotsRecorded}')
if [[ "$got" != "$VOTERS" ]]; then
  echo "FAIL: ballotsRecorded=$got, expected $VOTERS"
  exit 1
fi
kubectl -n "$NS" get pvc -o name | grep -q data-
echo
echo "e2e passed: $VOTERS ballots cast in the cluster, recorded, decrypted by 3 of 5 trustees and verified"
