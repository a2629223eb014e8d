#!/usr/bin/env bash
# End-to-end suite on a throwaway kind cluster (pinned node image): build and load the image, install the
# chart (its CRDs must be accepted), apply the municipal example (its keys replaced by the committed test
# ceremony's, fresh censuses of e2e voters for the remote and the booth vote services, the committed
# voting-right key, fresh acta keys for each Mesa's president and secretary), wait for Ready, constitute every
# Mesa (e2e/mesa-acta-job.yaml), wait for Open, cast the remote ballots from inside the cluster
# (e2e/election-job.yaml), then the booth ballots: one simulated booth per device of the BoothFleet
# (e2e/booth-pod.yaml), each admitting its voters at its Mesa's console and casting over MQTT through the
# fleet's broker, collector and bridge. Deletion must be refused while the ballots are unexported. After the
# close every Mesa signs and submits its results acta, and the operator closes: vote services drained, shards
# sealed, audit log closed, record exported by its Job, decryption service up. Three trustees answer from a
# Job (e2e/trustees-job.yaml); the election must reach Decrypted with results counting exactly the remote and
# booth ballots cast, and Certified once the authority annotates it.
#
#   e2e/run.sh            # needs docker, kind, kubectl, helm and openssl
#   KEEP_CLUSTER=1 e2e/run.sh
#
# Without those tools it prints why it was skipped and exits 0 without claiming a pass. On a failure it
# prints what the cluster holds (get, describe, logs) before tearing it down.
set -euo pipefail

cd "$(dirname "$0")/.."
CLUSTER=${CLUSTER:-urna-e2e}
# kind v0.29.0's image for Kubernetes 1.33, by digest.
KIND_NODE_IMAGE=${KIND_NODE_IMAGE:-kindest/node:v1.33.1@sha256:050072256b9a903bd914c0b2866828150cb229cea0efe5892e2b644d5dd3b34f}
IMAGE=${IMAGE:-ghcr.io/urna-dev/urna:e2e}
NS=ciudad
ELECTION=ciudad-2027
FLEET=ciudad-booths
VOTERS=${VOTERS:-60}
# Ballots each simulated booth casts (one voter admitted at its Mesa for each).
BOOTH_BALLOTS=${BOOTH_BALLOTS:-1}

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
passed=0
dump() {
  echo
  echo "== the cluster at the failure"
  kubectl get urna,all,pvc,jobs,configmaps -A -o wide 2>&1 | head -n 200 || true
  kubectl -n "$NS" describe "election/$ELECTION" 2>&1 || true
  kubectl -n "$NS" get events --sort-by=.lastTimestamp 2>&1 | tail -n 60 || true
  kubectl -n urna-system logs deployment/urna-operator --tail=200 2>&1 || true
  kubectl -n "$NS" get mesas -o wide 2>&1 || true
  kubectl -n "$NS" get pods -l app.kubernetes.io/name=urna-e2e 2>&1 || true
  for job in e2e-ballots e2e-trustees "$ELECTION-record-export"; do
    kubectl -n "$NS" logs "job/$job" --all-containers --tail=50 2>&1 || true
  done
  for job in $(kubectl -n "$NS" get jobs -l app.kubernetes.io/component=acta -o name 2>/dev/null); do
    kubectl -n "$NS" logs "$job" --all-containers --tail=20 2>&1 || true
  done
  # A few booths (those not running first), the collector and the booth vote service.
  for pod in $({
    kubectl -n "$NS" get pods -l app.kubernetes.io/component=booth --field-selector=status.phase!=Running -o name
    kubectl -n "$NS" get pods -l app.kubernetes.io/component=booth -o name
  } 2>/dev/null | awk '!seen[$0]++' | head -n 5); do
    kubectl -n "$NS" logs "$pod" --all-containers --tail=30 2>&1 || true
  done
  kubectl -n "$NS" logs "statefulset/$FLEET-collector" --tail=50 2>&1 || true
  kubectl -n "$NS" logs "statefulset/$ELECTION-vote-booth" --tail=50 2>&1 || true
  kubectl -n "$NS" logs "deployment/$ELECTION-decryption" --tail=50 2>&1 || true
}
cleanup() {
  if [[ "$passed" != 1 ]]; then dump; fi
  rm -rf "$WORK"
  if [[ "${KEEP_CLUSTER:-0}" != 1 ]]; then kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}
# The Election's status field at JSONPATH.
field() { kubectl -n "$NS" get "election/$ELECTION" -o jsonpath="$1"; }
# Waits up to $3 seconds until `field $1` is $2.
wait_value() {
  local deadline=$((SECONDS + $3))
  until [[ "$(field "$1")" == "$2" ]]; do
    ((SECONDS < deadline)) || fail "$1 is '$(field "$1")' after $3 s, expected $2"
    sleep 5
  done
}
# Waits up to $2 seconds until `field $1` is non-empty.
wait_field() {
  local deadline=$((SECONDS + $2))
  until [[ -n "$(field "$1")" ]]; do
    ((SECONDS < deadline)) || fail "$1 still empty after $2 s"
    sleep 5
  done
}
wait_phase() {
  kubectl -n "$NS" wait --for=jsonpath='{.status.phase}'="$1" "election/$ELECTION" --timeout="$2s" >/dev/null ||
    fail "the election did not reach $1 within $2 s (phase: $(field '{.status.phase}'))"
  echo "phase $1"
}
# A Mesa's field at JSONPATH $2.
mesa_field() { kubectl -n "$NS" get "mesa/$1" -o jsonpath="$2"; }
# Runs e2e/mesa-acta-job.yaml for every Mesa: acta $1 drafted, signed by the president and the secretary,
# submitted; waits for every Job.
actas() {
  local mesa
  for mesa in $MESAS; do
    sed -e "s|__IMAGE__|$IMAGE|g" -e "s|__MESA__|$mesa|g" -e "s|__KIND__|$1|g" e2e/mesa-acta-job.yaml |
      kubectl apply -f -
  done
  for mesa in $MESAS; do
    kubectl -n "$NS" wait --for=condition=Complete "job/e2e-acta-$mesa-$1" --timeout=300s ||
      fail "the $1 acta of $mesa was not accepted"
    echo "$mesa: $1 acta $(kubectl -n "$NS" logs "job/e2e-acta-$mesa-$1" -c submit | tail -n 1)"
  done
}
# Deleting the Election must be refused (the chart's ValidatingAdmissionPolicy) while its ballots are
# unexported; the message names the rule.
refuse_delete() {
  local out
  if out=$(kubectl -n "$NS" delete "election/$ELECTION" --wait=false 2>&1); then
    fail "deleting the election was accepted in phase $(field '{.status.phase}'): $out"
  fi
  [[ "$out" == *"not been exported"* ]] || fail "deletion refused for another reason: $out"
  echo "deletion refused: $out"
}

step "kind cluster $CLUSTER ($KIND_NODE_IMAGE)"
kind get clusters | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" --image "$KIND_NODE_IMAGE" --wait 180s

step "image $IMAGE"
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

step "chart"
helm upgrade --install urna charts/urna --namespace urna-system --create-namespace \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never \
  --set replicaCount=2 --wait --timeout 180s
for crd in elections mesas boothfleets tallyshards; do
  kubectl wait --for=condition=Established "crd/$crd.urna.dev" --timeout=60s
done

step "keys and census for the e2e election"
# The committed 3-of-5 test ceremony (public passphrases trustee-<i>): the Election's Paillier modulus
# becomes its n, so the trustees can decrypt what the voters encrypt.
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
# Acta keys (`urna mesa keygen`) for the president and the secretary of every Mesa, the quorum that signs its
# actas: their public halves replace the example's keys in the Mesa resources below (no private key of the
# example is committed); the key files become the Secret e2e-mesa-members.
MESAS=$(awk '/^kind: Mesa$/ { m = 1 } m && /^  name:/ { print $2; m = 0 }' examples/municipal/20-mesas.yaml)
test -n "$MESAS"
mkdir -p "$WORK/members" "$WORK/members.pub"
member_keys=()
for mesa in $MESAS; do
  for member in presidente secretario; do
    docker run --rm --user "$(id -u):$(id -g)" -v "$WORK/members:/out" "$IMAGE" \
      mesa keygen --out "/out/$mesa-$member.key" | sed -n 's/^public key: \([0-9a-f]\{64\}\)$/\1/p' \
      >"$WORK/members.pub/$mesa-$member"
    public=$(cat "$WORK/members.pub/$mesa-$member")
    test -n "$public"
    # The member's line in 20-mesas.yaml: `{ id: presidente, name: Presidencia mesa-centro-1, role: ...`.
    member_keys+=(-e "s/\(id: $member, name: [^,]* $mesa, role: [a-z]*, signingKey: \)[0-9a-f]\{64\}/\1$public/")
  done
done

step "municipal example, with its windows moved to now"
kubectl apply -f examples/municipal/00-namespace.yaml
opens=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)
# Long enough for VOTERS remote and the booths' 3072-bit ballots to be cast inside the window on a
# laptop-sized kind cluster.
closes=$(date -u -d '+20 minutes' +%Y-%m-%dT%H:%M:%SZ)
# The ceremony's public outputs, which the record-export Job puts in the record (spec.record.ceremony).
kubectl -n "$NS" create configmap "$ELECTION-ceremony" \
  --from-file="$CEREMONY/public.json" --from-file="$CEREMONY/transcript.json"
# Every window (remote, booth, the Mesas') opens and closes at these. Each file is its own YAML stream: the
# files do not start with `---`, and concatenated they would merge the last object of one file with the first
# of the next (kubectl keeps the last of duplicate keys: the Election would become Mesa mesa-centro-1).
for f in examples/municipal/*.yaml; do
  printf -- '---\n'
  sed -e "s/\"2027-06-0[16]T08:00:00-06:00\"/\"$opens\"/" -e "s/\"2027-06-06T18:00:00-06:00\"/\"$closes\"/" \
    -e "s/^\( *paillierModulus:\).*/\1 $modulus/" "${member_keys[@]}" "$f"
done | kubectl apply -f -
for mesa in $MESAS; do
  for member in presidente secretario; do
    [[ "$(mesa_field "$mesa" "{.spec.members[?(@.id==\"$member\")].signingKey}")" == \
      "$(cat "$WORK/members.pub/$mesa-$member")" ]] || fail "mesa $mesa: the $member's key was not replaced"
  done
done
kubectl -n "$NS" create secret generic e2e-mesa-members --from-file="$WORK/members/"
# The booths: every device of the BoothFleet (perMesa: <mesa>-1 ... <mesa>-<count>) but the blocked ones, which
# get no certificate. Per Mesa, a booth census of BOOTH_BALLOTS voters per booth (numbered after the remote
# voters and each other: no voter is in two censuses), in the Mesa's district; each booth's voter ids (the
# census's voterIdHash) are its key <device>.txt of the ConfigMap e2e-booth-voters, for its admissions, and
# the ballots it casts for them its key <device>.votes.csv: each voter's the district's ballot of
# e2e/booth-ballot.csv, so the Mesas can sign true counts and the results can be checked choice by choice.
blocked=" $(kubectl -n "$NS" get "boothfleet/$FLEET" -o jsonpath='{.spec.blockedDevices[*]}') "
mkdir -p "$WORK/booth-voters" "$WORK/booths"
: >"$WORK/booths.txt"
: >"$WORK/mesa-ballots.txt"
first=$VOTERS
BOOTH_TOTAL=0
printf 'voterIdHash,district,credentialHash\n' >"$WORK/booth-census.csv"
while read -r -u 3 mesa count; do
  district=$(mesa_field "$mesa" '{.spec.district}')
  devices=()
  for ((n = 1; n <= count; n++)); do
    [[ "$blocked" == *" $mesa-$n "* ]] || devices+=("$mesa-$n")
  done
  ((${#devices[@]})) || continue
  voters=$((${#devices[@]} * BOOTH_BALLOTS))
  mkdir -p "$WORK/booths/$mesa"
  docker run --rm --user "$(id -u):$(id -g)" -v "$WORK/booths/$mesa:/out" "$IMAGE" \
    voters census --count "$voters" --first "$first" --districts "$district" --modality booth --out /out
  tail -n +2 "$WORK/booths/$mesa/census.csv" >>"$WORK/booth-census.csv"
  tail -n +2 "$WORK/booths/$mesa/census.csv" | cut -d, -f1 >"$WORK/booths/$mesa/ids"
  i=0
  for device in "${devices[@]}"; do
    sed -n "$((i * BOOTH_BALLOTS + 1)),$(((i + 1) * BOOTH_BALLOTS))p" "$WORK/booths/$mesa/ids" \
      >"$WORK/booth-voters/$device.txt"
    {
      printf 'voter,district,modality,contest,choice\n'
      for ((k = 1; k <= BOOTH_BALLOTS; k++)); do
        grep "^__VOTER__,$district,booth," e2e/booth-ballot.csv | sed "s/^__VOTER__/$device-$k/"
      done
    } >"$WORK/booth-voters/$device.votes.csv"
    echo "$device $mesa $district" >>"$WORK/booths.txt"
    i=$((i + 1))
  done
  printf '%s %s\n' "$mesa" "$voters" >>"$WORK/mesa-ballots.txt"
  first=$((first + voters))
  BOOTH_TOTAL=$((BOOTH_TOTAL + voters))
done 3< <(kubectl -n "$NS" get "boothfleet/$FLEET" -o jsonpath='{range .spec.perMesa[*]}{.mesa} {.count}{"\n"}{end}')
((BOOTH_TOTAL > 0)) || fail "the BoothFleet $FLEET has no booth with a certificate"
echo "$(wc -l <"$WORK/booths.txt") booths, $BOOTH_TOTAL booth voters"
kubectl -n "$NS" create configmap "$ELECTION-booth-census" --from-file=census.csv="$WORK/booth-census.csv" \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$NS" create configmap e2e-booth-voters --from-file="$WORK/booth-voters/"
# Each Mesa's results acta states what its booths cast: e2e/booth-counts/<district>.json with its booth
# ballots for __N__ (0 for a Mesa without a certified booth).
mkdir -p "$WORK/counts"
for mesa in $MESAS; do
  n=$(awk -v m="$mesa" '$1 == m { print $2 }' "$WORK/mesa-ballots.txt")
  sed "s/__N__/${n:-0}/g" "e2e/booth-counts/$(mesa_field "$mesa" '{.spec.district}').json" >"$WORK/counts/$mesa.json"
done
kubectl -n "$NS" create configmap e2e-booth-counts --from-file="$WORK/counts/"
kubectl -n "$NS" patch "election/$ELECTION" --type merge -p "{\"spec\":{\"record\":{\"ceremony\":\"$ELECTION-ceremony\"}}}"
# Replace the example's three-voter census (and, above, its one-voter booth census) before the vote pods can
# start: they wait for the signing-key Secret, created just after.
kubectl -n "$NS" create configmap "$ELECTION-census" --from-file=census.csv="$WORK/voters/census.csv" \
  --dry-run=client -o yaml | kubectl apply -f -
kubectl -n "$NS" create secret generic "$ELECTION-vote-admin" --from-file=token="$WORK/admin-token"
kubectl -n "$NS" create secret generic e2e-voters --from-file=voters.csv="$WORK/voters/voters.csv"
kubectl -n "$NS" create secret generic e2e-trustees \
  --from-file="$CEREMONY/trustee-1.share.json" --from-file="$CEREMONY/trustee-2.share.json" \
  --from-file="$CEREMONY/trustee-3.share.json" --from-file="$WORK/trustee-1.passphrase" \
  --from-file="$WORK/trustee-2.passphrase" --from-file="$WORK/trustee-3.passphrase"
kubectl -n "$NS" create secret generic "$ELECTION-vote-signing-key" --from-file=signing-key.pem="$WORK/signing-key.pem"

step "wait for Ready, constitute the Mesas, then Open"
kubectl -n "$NS" wait --for=condition=Ready "election/$ELECTION" --timeout=300s
kubectl -n "$NS" get urna
test "$(kubectl -n "$NS" get tallyshards -o name | wc -l)" -eq 6
# Each Mesa's president and secretary sign its constitution acta (the booth vote service accepts it at any
# time; a Mesa opens only once constituted).
actas constitution
wait_phase Open 180
refuse_delete

step "$VOTERS remote ballots cast from inside the cluster"
sed "s|__IMAGE__|$IMAGE|" e2e/election-job.yaml | kubectl apply -f -
kubectl -n "$NS" wait --for=condition=Complete job/e2e-ballots --timeout=900s || fail "the ballots Job did not complete"
summary=$(kubectl -n "$NS" logs job/e2e-ballots | tail -n 1)
echo "$summary"
[[ "$summary" == *"\"cast\":$VOTERS"* ]] || fail "the ballots Job's summary lacks \"cast\":$VOTERS"
wait_value '{.status.modalities[?(@.modality=="remote")].ballotsRecorded}' "$VOTERS" 300

step "$BOOTH_TOTAL booth ballots: admitted at the Mesa consoles, cast on $(wc -l <"$WORK/booths.txt") simulated booths"
while read -r -u 3 device mesa district; do
  sed -e "s|__IMAGE__|$IMAGE|g" -e "s|__DEVICE__|$device|g" -e "s|__MESA__|$mesa|g" -e "s|__DISTRICT__|$district|g" \
    -e "s|__LAT__|$(mesa_field "$mesa" '{.spec.location.geofence.latitude}')|g" \
    -e "s|__LON__|$(mesa_field "$mesa" '{.spec.location.geofence.longitude}')|g" e2e/booth-pod.yaml |
    kubectl apply -f -
done 3<"$WORK/booths.txt"
# Each booth's ballots reach the booth vote service through the broker, the collector and the bridge; the
# operator counts them per modality, and per Mesa. A booth whose admission or start failed stops the wait.
deadline=$((SECONDS + 900))
until [[ "$(field '{.status.modalities[?(@.modality=="booth")].ballotsRecorded}')" == "$BOOTH_TOTAL" ]]; do
  failed=$(kubectl -n "$NS" get pods -l app.kubernetes.io/component=booth --field-selector=status.phase=Failed -o name)
  [[ -z "$failed" ]] || fail "booths failed: $failed"
  ((SECONDS < deadline)) ||
    fail "booth ballots recorded: '$(field '{.status.modalities[?(@.modality=="booth")].ballotsRecorded}')', expected $BOOTH_TOTAL"
  sleep 5
done
while read -r -u 3 mesa ballots; do
  deadline=$((SECONDS + 300))
  until [[ "$(mesa_field "$mesa" '{.status.admissions}/{.status.ballotsCast}')" == "$ballots/$ballots" ]]; do
    ((SECONDS < deadline)) ||
      fail "mesa $mesa: admissions/ballotsCast $(mesa_field "$mesa" '{.status.admissions}/{.status.ballotsCast}'), expected $ballots/$ballots"
    sleep 5
  done
  echo "mesa $mesa: $ballots voters admitted, $ballots booth ballots recorded"
done 3<"$WORK/mesa-ballots.txt"
# Recorded: the booths have nothing left to send.
kubectl -n "$NS" delete pods -l app.kubernetes.io/component=booth --wait=false
RECORDED=$((VOTERS + BOOTH_TOTAL))

step "the operator closes: drained, sealed, log closed, record exported"
# Closed lasts a few observation intervals (drain, seal, close the log); the export follows.
deadline=$((SECONDS + $(date -u -d "$closes" +%s) - $(date -u +%s) + 600))
until [[ " Closed Tallying Decrypted " == *" $(field '{.status.phase}') "* ]]; do
  ((SECONDS < deadline)) || fail "the election did not close (phase: $(field '{.status.phase}'))"
  sleep 5
done
echo "phase $(field '{.status.phase}'): $(kubectl -n "$NS" get "election/$ELECTION" -o jsonpath='{.status.conditions[?(@.type=="Closing")].message}')"
if [[ -z "$(field '{.status.recordExportedAt}')" ]]; then refuse_delete; fi
# Voting has closed: every Mesa's members sign its results acta (its booth ballots, as the booth vote service
# recorded them), which the log's closing waits for (no urna.dev/close-without-actas).
actas results
for mesa in $MESAS; do
  deadline=$((SECONDS + 300))
  until [[ " Counted Transmitted " == *" $(mesa_field "$mesa" '{.status.phase}') "* ]]; do
    ((SECONDS < deadline)) || fail "mesa $mesa is $(mesa_field "$mesa" '{.status.phase}'), not Counted"
    sleep 5
  done
  echo "mesa $mesa: $(mesa_field "$mesa" '{.status.phase}'), actas: $(mesa_field "$mesa" '{.status.actas[*].kind}')"
done
wait_field '{.status.recordExportedAt}' 900
echo "record exported at $(field '{.status.recordExportedAt}')"
test "$(kubectl -n "$NS" get job "$ELECTION-record-export" -o jsonpath='{.status.succeeded}')" = 1
kubectl -n "$NS" get pvc "$ELECTION-record"
# Exported: the admission policy now lets a deletion through (checked without deleting).
kubectl -n "$NS" delete "election/$ELECTION" --dry-run=server
got=$(field '{.status.ballotsRecorded}')
[[ "$got" == "$RECORDED" ]] || fail "ballotsRecorded=$got, expected $RECORDED ($VOTERS remote, $BOOTH_TOTAL booth)"
[[ -z "$(field '{.metadata.annotations.urna\.dev/close-without-actas}')" ]] ||
  fail "the election was closed without the Mesas' actas"

step "three trustees answer the decryption request"
kubectl -n "$NS" rollout status "deployment/$ELECTION-decryption" --timeout=300s
sed "s|__IMAGE__|$IMAGE|" e2e/trustees-job.yaml | kubectl apply -f -
kubectl -n "$NS" wait --for=condition=Complete job/e2e-trustees --timeout=900s || fail "the trustees' Job did not complete"
wait_phase Decrypted 900
accepted=$(field '{.status.decryption.accepted}')
[[ "$accepted" == "[1,2,3]" ]] || fail "status.decryption.accepted=$accepted, expected [1,2,3]"
cm=$(field '{.status.results.configMap}')
digest=$(field '{.status.results.digest}')
kubectl -n "$NS" get configmap "$cm" -o jsonpath='{.data.results\.json}' >"$WORK/results.json"
[[ "$(openssl dgst -sha256 -r "$WORK/results.json" | cut -d' ' -f1)" == "$digest" ]] ||
  fail "the results ConfigMap is not the document whose digest the status names"
# Every voter votes the mayoral contest (all three districts), remotely or at a booth: its total counts
# exactly the ballots cast. results.json has one entry per sealed total (contestId, district, modality, shard,
# ballots, ...) and then per contest its total over districts and modalities (contestId, ballots, ...): the
# mayoral entries' ballots are summed by modality, and the last is the total.
read -r remote booth mayor < <(awk '
  /"contestId":/ { c = ($0 ~ /"mayor"/); m = "" }
  /"modality":/ { m = $0 }
  c && /"ballots":/ {
    n = $0; gsub(/[^0-9]/, "", n); c = 0
    if (m ~ /"remote"/) r += n; else if (m ~ /"booth"/) b += n; else t = n
  }
  END { print r + 0, b + 0, t + 0 }' "$WORK/results.json")
[[ "$remote" == "$VOTERS" ]] || fail "the mayoral results count $remote remote ballots, $VOTERS were cast"
[[ "$booth" == "$BOOTH_TOTAL" ]] || fail "the mayoral results count $booth booth ballots, $BOOTH_TOTAL were cast"
[[ "$mayor" == "$RECORDED" ]] || fail "the mayoral results count $mayor ballots, $RECORDED were cast"
# Every booth voter cast the district's ballot of e2e/booth-ballot.csv: the booth totals hold exactly those
# choices (summed over districts: every contest's entries in results[], each with its modality).
booth_votes() {
  awk -v contest="\"$1\"" -v choice="\"$2\"" '
    /"contestId":/ { c = index($0, contest) > 0; m = "" }
    /"modality":/ { m = $0 }
    /"choice":/ { ch = index($0, choice) > 0 }
    /"votes":/ && c && ch && m ~ /"booth"/ { n = $0; gsub(/[^0-9]/, "", n); s += n }
    END { print s + 0 }' "$WORK/results.json"
}
for pair in mayor:pv transit-referendum:si council-centro:centro-1 council-norte:norte-1 council-sur:sur-1; do
  want=$(cat "$WORK"/booth-voters/*.votes.csv | grep -c ",booth,${pair%%:*},${pair#*:}\$" || true)
  got=$(booth_votes "${pair%%:*}" "${pair#*:}")
  [[ "$got" == "$want" ]] || fail "booth results: ${pair%%:*} ${pair#*:} has $got votes, the booths cast $want"
done
[[ "$(booth_votes mayor pc)$(booth_votes mayor ps)$(booth_votes transit-referendum no)" == 000 ]] ||
  fail "booth results: votes for a choice no booth voter made"

step "the authority certifies"
kubectl -n "$NS" annotate "election/$ELECTION" urna.dev/certify=true
wait_phase Certified 120
field '{.status.certifiedAt}' | grep -q .
kubectl -n "$NS" get events --field-selector reason=Certified -o name | grep -q .

passed=1
echo
echo "e2e passed: $VOTERS remote ballots and $BOOTH_TOTAL booth ballots cast in the cluster; every Mesa's actas signed; closed, sealed, exported, decrypted by 3 of 5 trustees, verified, published and certified by the operator"
