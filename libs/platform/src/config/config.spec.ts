import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_BOOTSTRAP_TOKEN, kafkaSasl, loadConfig } from './config';

describe('loadConfig', () => {
  it('has local defaults for every setting', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/eplb',
      REDIS_URL: 'redis://127.0.0.1:6379',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      API_PORT: 3000,
      MIGRATIONS_RUN_AT_START: true,
      EPLB_BOOTSTRAP_TOKEN: DEV_BOOTSTRAP_TOKEN,
    });
  });

  it('parses lists and numbers from strings', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'a:1, b:2', API_PORT: '8080', MIGRATIONS_RUN_AT_START: 'false' });
    expect(c.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(c.API_PORT).toBe(8080);
    expect(c.MIGRATIONS_RUN_AT_START).toBe(false);
  });

  it('names every invalid variable in one error', () => {
    expect(() => loadConfig({ API_PORT: '70000', KAFKA_BROKERS: 'nohost', DATABASE_URL: 'not a url' })).toThrow(ConfigError);
    try {
      loadConfig({ API_PORT: '70000', KAFKA_BROKERS: 'nohost', DATABASE_URL: 'not a url' });
    } catch (err) {
      const msg = (err as Error).message;
      expect(msg).toContain('API_PORT:');
      expect(msg).toContain('KAFKA_BROKERS.0: each broker must be host:port');
      expect(msg).toContain('DATABASE_URL:');
    }
  });

  it('in production refuses the published development token and never falls back to it (only the API needs a bootstrap token)', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', EPLB_BOOTSTRAP_TOKEN: DEV_BOOTSTRAP_TOKEN })).toThrow('EPLB_BOOTSTRAP_TOKEN: the published development token is refused in production');
    expect(loadConfig({ NODE_ENV: 'production' }).EPLB_BOOTSTRAP_TOKEN).toBeUndefined();
    expect(loadConfig({ NODE_ENV: 'production', EPLB_BOOTSTRAP_TOKEN: 'x'.repeat(32) }).EPLB_BOOTSTRAP_TOKEN).toBe('x'.repeat(32));
    expect(loadConfig({}).EPLB_BOOTSTRAP_TOKEN).toBe(DEV_BOOTSTRAP_TOKEN);
  });

  it('gives the Kafka client SASL credentials only when mechanism, user and password are all set', () => {
    expect(kafkaSasl(loadConfig({}))).toBeUndefined();
    const c = loadConfig({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'worker', KAFKA_SASL_PASSWORD: 'pw' });
    expect(kafkaSasl(c)).toEqual({ mechanism: 'scram-sha-512', username: 'worker', password: 'pw' });
    expect(() => loadConfig({ KAFKA_SASL_USERNAME: 'worker' })).toThrow(
      /KAFKA_SASL_MECHANISM: required with the other KAFKA_SASL_\* settings\n {2}KAFKA_SASL_PASSWORD: required/,
    );
    expect(() => loadConfig({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'w', KAFKA_SASL_PASSWORD: 'p' })).toThrow('KAFKA_SASL_MECHANISM:');
  });
});
