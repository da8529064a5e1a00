import { useEtcd } from '../support/etcd.ts';
import { describeEtcdConformance } from './etcd-conformance.ts';

describeEtcdConformance(useEtcd(), 'etcd');
