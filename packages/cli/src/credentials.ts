import { UsageError } from './errors.ts';
import { ENVIRONMENT, setting } from './settings.ts';

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * The etcd user and password. The user comes from `--user`, ZTAP_ETCD_USER or ETCDCTL_USER; in the
 * environment it may be etcdctl's `user:password`. Otherwise the password comes from
 * ZTAP_ETCD_PASSWORD or ETCDCTL_PASSWORD. A password belongs to the user it was given with, so a
 * `user:password` lower in the order is never paired with a user given higher up.
 *
 * `--user user:password` is refused (etcdctl accepts it): `ps` would show the password to every user
 * of the machine for as long as ztap runs, and an agent runs for months. No message repeats a password.
 */
export function credentialsFrom(
  user: string | undefined,
  env: Environment,
): { username: string; password: string } | undefined {
  const given = setting({ name: '--user', value: user }, env, ENVIRONMENT.user);
  if (!given) return undefined;
  const separator = given.value.indexOf(':');
  if (separator >= 0 && given.source === '--user')
    throw new UsageError(
      '--user must be a user name only: a password on the command line is visible to every user of this machine (ps); set ZTAP_ETCD_PASSWORD, or ZTAP_ETCD_USER=user:password',
    );
  const username = separator < 0 ? given.value : given.value.slice(0, separator);
  if (username.trim() === '')
    throw new UsageError(`${given.source} must name an etcd user: user, or user:password`);
  if (separator >= 0) return { username, password: given.value.slice(separator + 1) };
  const password = setting({ name: '', value: undefined }, env, ENVIRONMENT.password);
  if (!password)
    throw new UsageError(
      `${given.source} ${username} needs a password: set ZTAP_ETCD_PASSWORD (or ETCDCTL_PASSWORD)`,
    );
  return { username, password: password.value };
}

/**
 * `env` without the variables that can carry an etcd password (a `user:password` user included):
 * what a command started by `ztap run` inherits. It has no business with our credentials.
 */
export function withoutCredentials(env: Environment): Record<string, string | undefined> {
  const rest: Record<string, string | undefined> = { ...env };
  for (const variable of ENVIRONMENT.password) delete rest[variable];
  for (const variable of ENVIRONMENT.user) if (rest[variable]?.includes(':')) delete rest[variable];
  return rest;
}
