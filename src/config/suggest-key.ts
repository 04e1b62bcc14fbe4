// "did you mean" for a misspelt config key: the valid key within two edits, or that
// differs only in case.
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

export function suggestKey(key: string, valid: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameCase = valid.find((name) => name.toLowerCase() === lower);
  if (sameCase !== undefined) return sameCase;
  if (key.length > 64) return undefined;
  let best: { name: string; distance: number } | undefined;
  for (const name of valid) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}
