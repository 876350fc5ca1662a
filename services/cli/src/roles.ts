/** The roles a spansift process can run; `all` is every one of them. */
export const ROLES = ['receiver', 'span-writer', 'rule-worker', 'api'] as const
export type Role = (typeof ROLES)[number]

/** Parses `--role` values (repeatable, comma-separated allowed) into a set; no value means all. */
export function parseRoles(values: readonly string[]): Set<Role> {
  const roles = new Set<Role>()
  for (const value of values.flatMap((v) => v.split(','))) {
    const name = value.trim()
    if (name === 'all') for (const role of ROLES) roles.add(role)
    else if ((ROLES as readonly string[]).includes(name)) roles.add(name as Role)
    else throw new Error(`unknown role "${name}"; roles are ${[...ROLES, 'all'].join(', ')}`)
  }
  if (roles.size === 0) for (const role of ROLES) roles.add(role)
  return roles
}
