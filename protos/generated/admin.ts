import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AdminServiceClient as _gluonps_v1_AdminServiceClient, AdminServiceDefinition as _gluonps_v1_AdminServiceDefinition } from './gluonps/v1/AdminService';
import type { CheckpointRequest as _gluonps_v1_CheckpointRequest, CheckpointRequest__Output as _gluonps_v1_CheckpointRequest__Output } from './gluonps/v1/CheckpointRequest';
import type { CheckpointResponse as _gluonps_v1_CheckpointResponse, CheckpointResponse__Output as _gluonps_v1_CheckpointResponse__Output } from './gluonps/v1/CheckpointResponse';
import type { DescribeShardRequest as _gluonps_v1_DescribeShardRequest, DescribeShardRequest__Output as _gluonps_v1_DescribeShardRequest__Output } from './gluonps/v1/DescribeShardRequest';
import type { ShardInfo as _gluonps_v1_ShardInfo, ShardInfo__Output as _gluonps_v1_ShardInfo__Output } from './gluonps/v1/ShardInfo';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  gluonps: {
    v1: {
      /**
       * Administration of a running server.
       */
      AdminService: SubtypeConstructor<typeof grpc.Client, _gluonps_v1_AdminServiceClient> & { service: _gluonps_v1_AdminServiceDefinition }
      CheckpointRequest: MessageTypeDefinition<_gluonps_v1_CheckpointRequest, _gluonps_v1_CheckpointRequest__Output>
      CheckpointResponse: MessageTypeDefinition<_gluonps_v1_CheckpointResponse, _gluonps_v1_CheckpointResponse__Output>
      DescribeShardRequest: MessageTypeDefinition<_gluonps_v1_DescribeShardRequest, _gluonps_v1_DescribeShardRequest__Output>
      ShardInfo: MessageTypeDefinition<_gluonps_v1_ShardInfo, _gluonps_v1_ShardInfo__Output>
    }
  }
}

