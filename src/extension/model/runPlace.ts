/**
 * Where Run Agent Task… runs the agent: in the folder itself, or in a new git worktree of it
 * (src/core/worktree.ts), decided without `vscode`. The choice is offered only when both are
 * possible: a trusted workspace (git runs nowhere else) and a folder in a repository with a
 * commit. It is a toggle on the prompt box, not a step of its own: most runs stay in the folder,
 * and a question on every run in a repository would tax them all.
 */

export type RunPlace = 'folder' | 'worktree';

export type PlaceDecision =
  | { readonly kind: 'use'; readonly place: RunPlace }
  /** Both are possible: `preferred` (the profile's), and the user may switch. */
  | { readonly kind: 'offer'; readonly preferred: RunPlace }
  /** The profile wants a worktree and the folder cannot have one: run in the folder only if the user says so. */
  | { readonly kind: 'confirmFolder'; readonly message: string }
  | { readonly kind: 'refuse'; readonly reason: string };

export interface PlaceFacts {
  /** The caller asked for one (the command's `worktree` argument); undefined: ask or follow the profile. */
  readonly requested: boolean | undefined;
  readonly profileName: string;
  /** The profile's `"worktree": true`. */
  readonly profileWorktree: boolean;
  readonly trusted: boolean;
  /** Whether the folder can have a worktree (looked up only in a trusted workspace); null when not looked up. */
  readonly source: { readonly ok: true } | { readonly ok: false; readonly reason: string } | null;
}

export function decidePlace(facts: PlaceFacts): PlaceDecision {
  const restricted = `Running in a new worktree needs git, and git does not run in Restricted Mode. Trust the workspace to run "${facts.profileName}" in a worktree.`;
  if (facts.requested === false) return { kind: 'use', place: 'folder' };
  if (!facts.trusted) {
    if (facts.requested === true || facts.profileWorktree) return { kind: 'refuse', reason: facts.profileWorktree && facts.requested !== true ? `The agent profile "${facts.profileName}" runs in a new worktree ("worktree": true). ${restricted}` : restricted };
    return { kind: 'use', place: 'folder' };
  }
  const source = facts.source;
  if (source === null || !source.ok) {
    const why = source === null ? 'its folder was not checked' : source.reason;
    if (facts.requested === true) return { kind: 'refuse', reason: `Cannot run in a new worktree: ${why}.` };
    if (facts.profileWorktree) return { kind: 'confirmFolder', message: `The agent profile "${facts.profileName}" runs in a new worktree, but ${why}. Run it in the folder itself?` };
    return { kind: 'use', place: 'folder' };
  }
  if (facts.requested === true) return { kind: 'use', place: 'worktree' };
  return { kind: 'offer', preferred: facts.profileWorktree ? 'worktree' : 'folder' };
}

/** The prompt box's line for where the agent works, and its toggle button's tooltip (which switches to the other place). */
export function placeWording(place: RunPlace, profileName: string, folderLabel: string): { prompt: string; toggle: string } {
  return place === 'worktree'
    ? { prompt: `What should ${profileName} do? It runs in a new worktree of ${folderLabel}, on a new branch agent-tasks/…`, toggle: `Run in ${folderLabel} itself` }
    : { prompt: `What should ${profileName} do? It runs in ${folderLabel}.`, toggle: 'Run in a new worktree (a branch and folder of its own)' };
}
