import assert from "node:assert/strict";
import { test } from "node:test";
import { shout } from "./index.js";

test("shouts", () => assert.equal(shout("hi"), "HI!"));
