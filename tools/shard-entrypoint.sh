#!/bin/sh
# The shard StatefulSet's entrypoint (deploy/k8s/shards.yaml): a StatefulSet's pods are named
# NAME-0, NAME-1, ...; the ordinal after the last '-' of the pod's name (GLUONPS_POD_NAME, else
# the host name, which Kubernetes sets to the pod's name) is this server's --shard-index. Every
# other flag is passed on to `npm start`.
#
#   sh tools/shard-entrypoint.sh --num-shards 3 --cluster prod ...   (in pod gluonps-shard-2: --shard-index 2)
set -eu
pod=${GLUONPS_POD_NAME:-$(hostname)}
index=${pod##*-}
case $index in
  '' | *[!0-9]*)
    echo "shard-entrypoint: cannot take a shard index from the pod name '$pod': expected NAME-<ordinal>, as a StatefulSet names its pods" >&2
    exit 2
    ;;
esac
exec npm start -- --shard-index "$index" "$@"
