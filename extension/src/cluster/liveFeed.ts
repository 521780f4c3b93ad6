/**
 * Feeds the language server the live figures of the running cluster (`dvs/liveStats`,
 * shown in hover and code lens): once a second while a cluster runs, only the endpoints
 * whose figures changed; when the cluster stops, every endpoint once more as stopped.
 * Nothing runs while there is no cluster.
 */
import { LiveStatsNotification, type LiveStatsParams } from '@dvs/language-server/protocol';
import type * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { Ctx } from '../ctx';
import { LiveStats } from '../model/liveStats';

const PERIOD_MS = 1000;

export function feedLiveStats(ctx: Ctx, client: LanguageClient): vscode.Disposable {
  const stats = new LiveStats();
  let timer: ReturnType<typeof setInterval> | undefined;
  const send = (figures: LiveStatsParams[]): void => {
    if (!client.isRunning()) return;
    for (const f of figures) void client.sendNotification(LiveStatsNotification, f).catch(() => undefined);
  };
  const tick = (): void => {
    if (ctx.status) send(stats.changed(ctx.status));
  };
  const onCluster = (running: boolean): void => {
    if (running) timer ??= setInterval(tick, PERIOD_MS);
    else {
      if (timer) clearInterval(timer);
      timer = undefined;
      send(stats.stopped());
    }
  };
  const subs = [ctx.trace.onEvents((batch) => stats.add(batch)), ctx.onDidChangeCluster((c) => onCluster(c !== undefined))];
  if (ctx.cluster) onCluster(true);
  return {
    dispose: () => {
      if (timer) clearInterval(timer);
      for (const s of subs) s.dispose();
    },
  };
}
