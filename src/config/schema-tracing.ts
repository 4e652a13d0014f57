/** The `tracing` section: where OpenTelemetry spans go (OTLP/HTTP), the service name and the sampling ratio. */
import { z } from 'zod';
import { httpUrl } from './schema-types.js';

/** The `tracing` section's shape; every key has a default, so the section may be left out (tracing off). */
export const tracingSection = z
  .strictObject({
    /** "" (off), or the collector's OTLP/HTTP URL; one without a path gets /v1/traces (tracing.ts). */
    otlpEndpoint: z
      .union([z.literal(''), httpUrl], { error: 'expected "" (tracing off) or an http(s) URL, e.g. "http://otel-collector:4318"' })
      .default(''),
    serviceName: z.string().min(1, { message: 'must not be empty' }).default('authgate'),
    // A ${VAR} gives text: "0.25" is read as the number it says.
    sampleRatio: z
      .preprocess((value) => (typeof value === 'string' && /^\d*\.?\d+$/.test(value) ? Number(value) : value), z.number().min(0, { message: 'expected a ratio from 0 to 1' }).max(1, { message: 'expected a ratio from 0 to 1' }))
      .default(1),
  })
  .prefault({});
