// cli.ts: `npm start`. Parses flags and GLUONPS_* variables, starts the server, and shuts it
// down gracefully on SIGINT/SIGTERM. Invalid configuration exits with status 2 and a message.
import { ConfigError, HELP, parseCommandLine } from './config';
import { startServer } from './index';

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseCommandLine(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gluon-ps: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(HELP);
    return;
  }
  // Signals are handled from the start: one that arrives while the server is starting shuts it
  // down as soon as it is up, instead of killing the process mid-start.
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  let stopping: string | null = null;
  let signals = 0;
  const stop = (signal: string): void => {
    signals++;
    if (signals > 1) {
      process.stderr.write(`gluon-ps: second ${signal}: exiting now\n`);
      process.exit(1);
    }
    stopping = signal;
    if (server === null) return; // handled once startServer resolves
    server.log.info({ signal }, 'signal received');
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    server = await startServer(parsed.options);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gluon-ps: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (stopping !== null) {
    signals = 0;
    stop(stopping);
  }
}

await main();
