import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ZodPipe } from '@eplb/platform';
import type { EventMeta } from '@eplb/persistence';
import { Actor } from '../auth/request-context';
import { Roles } from '../auth/roles.decorator';
import { AgentKeyResponse, AgentsResponse, deploymentIdSchema } from '@eplb/contracts';
import { AgentsUseCase } from './agents.use-case';
import { EnrolAgentKeyUseCase } from './enrol-agent-key.use-case';

const nodeParam = new ZodPipe(z.coerce.number().int().min(0).max(1_000_000), 'param');
const enrolKeyBody = z.strictObject({
  /** Ed25519, PEM (`-----BEGIN PUBLIC KEY-----`) or base64 DER (SPKI). */
  publicKey: z.string().min(1).max(4096),
});

/** The agents of a deployment: registered, connected, last heartbeat, the versions they hold; their public keys. */
@ApiTags('rollouts')
@ApiBearerAuth()
@Controller('v1/deployments/:id/agents')
export class AgentsController {
  constructor(
    private readonly agents: AgentsUseCase,
    private readonly enrolKey: EnrolAgentKeyUseCase,
  ) {}

  @Get()
  @Roles('operator', 'analyst', 'agent')
  @ApiOperation({ summary: 'Per node: connected on the control channel, Kafka only, stale or missing; ranks, last heard, versions held' })
  list(@Param('id', new ZodPipe(deploymentIdSchema, 'param')) dep: string): Promise<AgentsResponse> {
    return this.agents.execute(dep);
  }

  @Post(':node/keys')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({
    summary:
      "Register a node's agent public key (Ed25519): what the rollout service verifies its signed acks with. For agents that never dial the control channel (Kafka only), whose hello would enrol it; replaces the node's earlier key",
  })
  @ApiBody({ schema: z.toJSONSchema(enrolKeyBody) as object })
  enrol(
    @Param('id', new ZodPipe(deploymentIdSchema, 'param')) dep: string,
    @Param('node', nodeParam) node: number,
    @Body(new ZodPipe(enrolKeyBody)) body: z.infer<typeof enrolKeyBody>,
    @Actor() meta: EventMeta,
  ): Promise<AgentKeyResponse> {
    return this.enrolKey.execute(dep, node, body.publicKey, meta);
  }
}
