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
  let server;
  try {
    server = await startServer(parsed.options);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gluon-ps: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  let signals = 0;
  const stop = (signal: string): void => {
    signals++;
    if (signals > 1) {
      server.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    server.log.info({ signal }, 'signal received');
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

await main();
