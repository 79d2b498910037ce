// help.ts: the text of `gluonps help` (and of --help on any command).
import { DEFAULT_SERVER, DEFAULT_WATCH_INTERVAL_MS } from './args';
import { ETCD_CLI_HELP } from './etcd-args';

export const HELP = `Usage: gluonps <command> [options]   (in the repository: npm run gluonps -- <command> [options])

Commands:
  status          health, version, uptime, memory, durability, trainers, recent warnings (one screen)
  list            the parameters and constants: name, shape, dtype, stype, contexts, version, state
  describe NAME    one parameter or constant in full
  trainers        every trainer, one line each
  trainer NAME    one trainer: step, mode, learning rate, workers, whom an open step waits for, how long
  checkpoint      ask the server to write a checkpoint of its data directory now
  export          write the server's parameters to a file
  import          load parameters from a file into the server
  help            show this text

Options of every command:
  --server <host:port>      the server          GLUONPS_SERVER (default ${DEFAULT_SERVER})
  --server <a,b,...>        a cluster: every shard's host:port, in shard-index order; every
                            command works as on one server; status and trainer add a line per shard
  --cluster <name>          refuse shards of another cluster (connects as a cluster client)
  --token <token>           bearer token sent with every call   GLUONPS_TOKEN
  --token-file <path>       read the token from a file (first line)   GLUONPS_TOKEN_FILE
  --tls                     TLS with the system's root CAs
  --tls-ca <path>           TLS, trusting this CA (PEM)   GLUONPS_TLS_CA
  --tls-cert <path>         client certificate for mutual TLS (PEM; needs --tls-key)   GLUONPS_CLIENT_CERT
  --tls-key <path>          its private key (PEM)   GLUONPS_CLIENT_KEY
  --tls-server-name <name>  the name the server's certificate must carry, when it is not the host
${ETCD_CLI_HELP}
  --connect-timeout-ms <n>  how long to wait for the server, and for each answer of status, list,
                            describe, trainers, trainer (default 10000)
  --json                    print the result (or the error) as one JSON line on stdout
  --quiet, -q               no progress output
  --help, -h                show this text

export:
  --file, -f <path>         the file to write (required); written under a temporary name, then renamed
  --format <f>              params (MXNet .params, default) | safetensors | npz
  --names <a,b,...>         only these parameters, in this order (repeatable; default all)
  --numpy-shape             params: V3 records (MXNet numpy-shape mode; allows scalars)

import:
  --file, -f <path>         the file to read (required)
  --format <f>              params | safetensors | npz | npy (default: detected from the content)
  --names <a,b,...>         the parameters to load (repeatable; default every parameter on the server)
  --allow-missing           parameters the file lacks are left as they are
  --ignore-extra            entries of the file that are not among the parameters are skipped
  --declare                 declare the file's entries the server lacks (shape, dtype from the file)
  --ctx <list>              contexts for parameters not initialized yet, e.g. cpu(0),gpu(1) (default cpu(0))
  --cast-dtype              convert values whose dtype differs from the parameter's
  --dtype-source <s>        with --cast-dtype: current (convert the values, default) | saved (cast the parameter)

status:
  --watch, -w               refresh until Ctrl-C: in place on a terminal; otherwise one snapshot after
                            another (with --json, one JSON line each)
  --interval-ms <n>         between refreshes (default ${DEFAULT_WATCH_INTERVAL_MS}; 100 to 3600000)

checkpoint:
  --reason <text>           recorded in the server log (default "on demand")

status, trainers and trainer (AdminService) need a full-access token when the server has tokens.

Exit status: 0 done, 1 the operation failed, 2 bad command line.
`;
