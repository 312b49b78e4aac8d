// Work-slot membership through a Kafka consumer group: several processes divide the
// partitions ("slots") of one topic among themselves with Kafka's own group protocol,
// no home-made coordination. Used by the connector to share its sources (each source
// belongs to the slot = partition of lq.sources its name hashes to).
//
// The member consumes nothing: it subscribes to the topic only to take part in the
// group's partition assignment, and keeps every assigned partition paused (an idle
// fetch loop still heartbeats). Each (re)join hands the listener the complete set of
// slots this member owns from then on; the caller diffs it with what it runs.
//
// The assignment is balanced and sticky (sticky.ts): each member's join metadata names
// the slots it serves, and the leader keeps them where they are as far as balance
// allows. Kafka's eager protocol gives the new owner of a slot its assignment in the
// same round as the old owner learns it lost it, so the two overlap for a moment; the
// caller's per-slot transactional producer (the new owner's initTransactions fences the
// old one) makes that harmless.
//
// A member that has not heartbeated for a session timeout may have been dropped by the
// group (a stalled process, a partitioned network) while others took its slots: it
// reports "no slots" until it has rejoined (fresh() says whether membership is current).
import type { Assigner, Consumer, GroupMember, GroupMemberAssignment, PartitionAssigner } from 'kafkajs';
import { AssignerProtocol } from './kafkajs.js';
import { silentLogger, type Logger } from '../log.js';
import type { KafkaSettings } from './config.js';
import { createKafka } from './client.js';
import { KafkaLayerError, mapKafkaError } from './errors.js';
import { decodeClaim, encodeClaim, stickyAssign } from './sticky.js';

export interface SlotGroupOptions {
  /** Consumer group id. */
  groupId: string;
  /** The topic whose partitions are the slots (it must exist with `slots` partitions). */
  topic: string;
  slots: number;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  clientId?: string;
  logger?: Logger;
}

export interface SlotAssignmentInfo {
  memberId: string | null;
  isLeader: boolean;
  /** Member-side count of group joins since start (each join is one rebalance seen). */
  joins: number;
}

export interface SlotGroupListener {
  /** The complete set of slots this member owns from now on (ascending; empty when membership is lost or on stop). */
  assigned(slots: number[], info: SlotAssignmentInfo): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One member of a slot group. start() joins; stop() leaves (the others take its slots at once). */
export class SlotGroupMember {
  private readonly settings: KafkaSettings;
  private readonly opts: SlotGroupOptions;
  private readonly log: Logger;
  private consumer?: Consumer;
  private listener?: SlotGroupListener;
  private owned: () => readonly number[] = () => [];
  private current: number[] = [];
  private lastContact = 0;
  private memberId: string | null = null;
  private isLeader = false;
  private joins = 0;
  private stopped = false;
  private watchdog?: NodeJS.Timeout;
  private recreating = false;

  constructor(settings: KafkaSettings, opts: SlotGroupOptions) {
    if (opts.heartbeatIntervalMs >= opts.sessionTimeoutMs) throw new KafkaLayerError('heartbeatIntervalMs must be below sessionTimeoutMs');
    this.settings = settings;
    this.opts = opts;
    this.log = (opts.logger ?? silentLogger).child({ group: opts.groupId });
  }

  /** Slots owned now (as last reported to the listener). */
  get slots(): readonly number[] {
    return this.current;
  }

  /** Membership is current: joined, and the last heartbeat (or join) is within the session timeout. */
  fresh(): boolean {
    return this.memberId !== null && Date.now() - this.lastContact < this.opts.sessionTimeoutMs;
  }

  /**
   * Join the group. `owned` tells the assignment which slots this member serves now
   * (stickiness). Resolves once the consumer runs (the first assignment may come later);
   * rejects when the first connection fails (the caller retries).
   */
  async start(listener: SlotGroupListener, owned: () => readonly number[] = () => this.current): Promise<void> {
    if (this.consumer) throw new KafkaLayerError('slot group member already started');
    this.stopped = false;
    this.listener = listener;
    this.owned = owned;
    await this.createAndRun();
    this.watchdog = setInterval(() => this.checkMembership(), Math.max(100, Math.floor(this.opts.heartbeatIntervalMs / 2)));
    this.watchdog.unref?.();
  }

  /** Leave the group (the remaining members rebalance at once) and report no slots. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    const c = this.consumer;
    this.consumer = undefined;
    if (c) {
      // disconnect() stops fetching and sends LeaveGroup; bounded so a lost broker cannot hold a shutdown.
      await Promise.race([c.disconnect().catch((err: unknown) => this.log.warn({ err: String(err) }, 'group member disconnect failed')), sleep(5_000)]);
    }
    this.report([]);
    this.memberId = null;
  }

  private assigner(): PartitionAssigner {
    const { topic, slots } = this.opts;
    const name = 'LqrStickySlots';
    const version = 1;
    const log = this.log;
    return () =>
      ({
        name,
        version,
        async assign({ members }: { members: GroupMember[]; topics: string[] }): Promise<GroupMemberAssignment[]> {
          const claims = members.map((m) => ({ memberId: m.memberId, owned: decodeClaim(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData) }));
          const plan = stickyAssign(claims, slots);
          log.info({ members: members.length, plan: Object.fromEntries(plan) }, 'assigned slots (group leader)');
          return [...plan].map(([memberId, parts]) => ({
            memberId,
            memberAssignment: AssignerProtocol.MemberAssignment.encode({ version, assignment: { [topic]: parts }, userData: Buffer.alloc(0) }),
          }));
        },
        protocol: ({ topics }: { topics: string[] }) => ({
          name,
          metadata: AssignerProtocol.MemberMetadata.encode({ version, topics, userData: encodeClaim(this.owned()) }),
        }),
      }) as Assigner;
  }

  private async createAndRun(): Promise<void> {
    const { groupId, topic } = this.opts;
    const kafka = createKafka(this.settings, { logger: this.log, clientId: this.opts.clientId });
    const consumer = kafka.consumer({
      groupId,
      partitionAssigners: [this.assigner()],
      sessionTimeout: this.opts.sessionTimeoutMs,
      heartbeatInterval: this.opts.heartbeatIntervalMs,
      rebalanceTimeout: this.opts.rebalanceTimeoutMs,
      // The fetch loop is what heartbeats: it must come round well within the interval.
      maxWaitTimeInMs: Math.min(500, this.opts.heartbeatIntervalMs),
      allowAutoTopicCreation: false,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2_000 },
    });
    const { GROUP_JOIN, HEARTBEAT, CRASH, REBALANCING } = consumer.events;
    consumer.on(GROUP_JOIN, (e) => {
      if (this.consumer !== consumer || this.stopped) return;
      this.joins++;
      this.lastContact = Date.now();
      this.memberId = e.payload.memberId;
      this.isLeader = e.payload.isLeader;
      this.pauseAll(consumer);
      const parts = (e.payload.memberAssignment[topic] ?? []).filter((p) => Number.isInteger(p)).sort((a, b) => a - b);
      this.log.info({ memberId: e.payload.memberId, leader: e.payload.isLeader, slots: parts, joinMs: e.payload.duration }, 'joined the slot group');
      this.report(parts);
    });
    consumer.on(HEARTBEAT, () => {
      if (this.consumer === consumer) this.lastContact = Date.now();
    });
    consumer.on(REBALANCING, () => this.log.info('slot group rebalancing'));
    consumer.on(CRASH, (e) => {
      if (this.consumer !== consumer || this.stopped) return;
      this.log.warn({ err: String(e.payload.error?.message ?? e.payload.error), restart: e.payload.restart }, 'slot group member crashed');
      // The crash left the group: whatever we held is someone else's now.
      this.memberId = null;
      this.report([]);
      if (!e.payload.restart) void this.recreate();
    });
    this.consumer = consumer;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: false });
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async ({ batch }) => {
          // Nothing to consume: partitions are paused at each join; a fetch that raced it is ignored.
          consumer.pause([{ topic: batch.topic }]);
        },
      });
    } catch (err) {
      this.consumer = undefined;
      await consumer.disconnect().catch(() => undefined);
      throw mapKafkaError(`join slot group "${groupId}"`, err);
    }
  }

  /** kafkajs gave up on its consumer: build a new one (after a pause), until stopped. */
  private async recreate(): Promise<void> {
    if (this.recreating) return;
    this.recreating = true;
    try {
      const old = this.consumer;
      this.consumer = undefined;
      await old?.disconnect().catch(() => undefined);
      let delay = 500;
      while (!this.stopped) {
        await sleep(delay);
        if (this.stopped) break;
        try {
          await this.createAndRun();
          return;
        } catch (err) {
          this.log.warn({ err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'slot group member could not rejoin');
          delay = Math.min(delay * 2, 10_000);
        }
      }
    } finally {
      this.recreating = false;
    }
  }

  private pauseAll(consumer: Consumer): void {
    try {
      consumer.pause([{ topic: this.opts.topic }]);
    } catch {
      // No group formed (between a crash and a restart): the next join pauses.
    }
  }

  private checkMembership(): void {
    if (this.stopped || this.current.length === 0) return;
    const silentFor = Date.now() - this.lastContact;
    if (silentFor < this.opts.sessionTimeoutMs) return;
    this.log.warn({ silentForMs: silentFor }, 'no heartbeat for a session timeout: the group may have moved our slots; releasing them until we rejoin');
    this.report([]);
  }

  /** Every join is reported, also with unchanged slots (the listener restarts any slot it had to drop). */
  private report(slots: number[]): void {
    this.current = slots;
    this.listener?.assigned([...slots], { memberId: this.memberId, isLeader: this.isLeader, joins: this.joins });
  }
}
