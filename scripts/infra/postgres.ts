import { spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { InfraError } from './kafka';

const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** A port nobody listens on right now, picked by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/**
 * A Postgres server of its own (Debian's binaries), in a temporary data directory on its own
 * port, for tests and benchmarks that stop and restart the database: the shared server on 5432 is
 * never touched. Trust auth as `postgres`; as root, the server runs as the postgres user (initdb
 * refuses root).
 */
export class DedicatedPostgres {
  private constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly asPostgres: boolean,
  ) {}

  static async create(port?: number): Promise<DedicatedPostgres> {
    const asPostgres = userInfo().uid === 0;
    const dataDir = mkdtempSync(join(tmpdir(), 'eplb-pg-'));
    if (asPostgres) {
      const { uid, gid } = await postgresUser();
      chownSync(dataDir, uid, gid);
    }
    const pg = new DedicatedPostgres(dataDir, port ?? (await freePort()), asPostgres);
    await pg.run('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
    await pg.start();
    return pg;
  }

  /** The URL of a database on this server (created by the apps at start, like on the shared one). */
  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dataDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
    await this.run('pg_ctl', ['-D', this.dataDir, '-o', options, '-l', join(this.dataDir, 'server.log'), '-w', '-t', '60', 'start']);
  }

  /** Stops at once, as a crash would (`-m immediate`): open transactions are lost, clients cut off. */
  async stopImmediate(): Promise<void> {
    await this.run('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
  }

  async restartImmediate(): Promise<void> {
    await this.stopImmediate();
    await this.start();
  }

  /** Stops the server and removes its data. */
  async destroy(): Promise<void> {
    await this.stopImmediate().catch(() => undefined);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private run(tool: string, args: string[]): Promise<void> {
    const [cmd, argv] = this.asPostgres ? ['runuser', ['-u', 'postgres', '--', join(BIN, tool), ...args]] : [join(BIN, tool), args];
    return new Promise((ok, fail) => {
      const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('error', (e) => fail(new InfraError(`${tool}: ${e.message}`)));
      child.once('exit', (code) => (code === 0 ? ok() : fail(new InfraError(`${tool} ${args.at(-1)} exited with ${code}: ${err.trim()}`))));
    });
  }
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const out = await new Promise<string>((ok, fail) => {
    const child = spawn('id', ['postgres']);
    let s = '';
    child.stdout.on('data', (d: Buffer) => (s += d.toString()));
    child.once('error', fail);
    child.once('exit', (code) => (code === 0 ? ok(s) : fail(new InfraError('running as root needs a postgres user to run a dedicated Postgres'))));
  });
  const uid = /uid=(\d+)/.exec(out);
  const gid = /gid=(\d+)/.exec(out);
  if (!uid || !gid) throw new InfraError(`cannot read the postgres user's ids from "${out.trim()}"`);
  return { uid: Number(uid[1]), gid: Number(gid[1]) };
}
