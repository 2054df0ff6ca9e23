/** A model name with `*` wildcards as a regular expression; undefined for an exact name. */
export function globToRegExp(glob: string): RegExp | undefined {
  if (!glob.includes('*')) return undefined;
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`);
}
