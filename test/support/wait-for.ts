/** Waits for a condition the code under test brings about; the cap only stops a hung test. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, capMs = 120_000): Promise<void> {
  const deadline = Date.now() + capMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
