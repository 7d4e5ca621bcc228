// Elysia's `t`, except `Integer`: Elysia's version also accepts numeric strings (and adds
// `default: 0`), which would let `"port": "8080"` through validation of a JSON body.
import { Type } from "@sinclair/typebox";
import { t as elysiaT } from "elysia";

export const t: typeof elysiaT = { ...elysiaT, Integer: Type.Integer } as typeof elysiaT;
