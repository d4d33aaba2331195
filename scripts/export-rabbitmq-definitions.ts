/**
 * Writes rabbitmq/definitions.json from the topology in src/bus/bus-topology.ts.
 * Usage: node dist/scripts/export-rabbitmq-definitions.js [output path]
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { busTopology } from '../src/bus/bus-topology.js';
import { renderRabbitDefinitions } from '../src/bus/rabbit-definitions.js';

const target = resolve(process.argv[2] ?? 'rabbitmq/definitions.json');
writeFileSync(target, renderRabbitDefinitions(busTopology()));
console.log(`wrote ${target}`);
