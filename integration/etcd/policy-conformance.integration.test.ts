import { useEtcd } from '../support/etcd.ts';
import { describeEtcdPolicyConformance } from './etcd-policy-conformance.ts';

describeEtcdPolicyConformance(useEtcd(), 'etcd');
