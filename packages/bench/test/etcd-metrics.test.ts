import { describe, expect, it } from 'vitest';
import { counterDelta, parseEtcdMetrics } from '../src/etcd-metrics.ts';

const SAMPLE = `# HELP etcd_debugging_mvcc_events_total Total number of events sent by this member.
# TYPE etcd_debugging_mvcc_events_total counter
etcd_debugging_mvcc_events_total 42
etcd_debugging_mvcc_watcher_total 3
etcd_network_client_grpc_sent_bytes_total 2048
grpc_server_started_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 10
grpc_server_started_total{grpc_method="Txn",grpc_service="etcdserverpb.KV",grpc_type="unary"} 4
grpc_server_started_total{grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream"} 2
grpc_server_msg_received_total{grpc_method="LeaseKeepAlive",grpc_service="etcdserverpb.Lease",grpc_type="bidi_stream"} 1.5e+03
grpc_server_msg_received_total{grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream"} 7
grpc_server_msg_received_total{grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 10
`;

describe('parseEtcdMetrics', () => {
  it('reads unary requests (by method), watch events, watch stream messages, keepalives and bytes sent', () => {
    expect(parseEtcdMetrics(SAMPLE)).toEqual({
      unaryRequests: 14,
      watchEvents: 42,
      watchRequests: 7,
      keepalives: 1500,
      sentBytes: 2048,
      watchers: 3,
      byMethod: { Range: 10, Txn: 4 },
    });
  });

  it('subtracts counters, keeping only methods that moved', () => {
    const before = parseEtcdMetrics(SAMPLE);
    const after = parseEtcdMetrics(
      SAMPLE.replace('events_total 42', 'events_total 50').replace(
        'grpc_method="Txn",grpc_service="etcdserverpb.KV",grpc_type="unary"} 4',
        'grpc_method="Txn",grpc_service="etcdserverpb.KV",grpc_type="unary"} 6',
      ),
    );
    expect(counterDelta(before, after)).toEqual({
      unaryRequests: 2,
      watchEvents: 8,
      watchRequests: 0,
      keepalives: 0,
      sentBytes: 0,
      watchers: 3,
      byMethod: { Txn: 2 },
    });
  });
});
