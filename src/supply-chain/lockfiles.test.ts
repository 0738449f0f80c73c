import { expect, it } from "vitest";
import { npmPurl } from "./lockfiles.js";

it("writes npm purls as packageurl-js does (the expected values are its output)", () => {
  expect(npmPurl("left-pad", "1.3.0")).toBe("pkg:npm/left-pad@1.3.0");
  expect(npmPurl("@sigstore/verify", "3.1.1")).toBe("pkg:npm/%40sigstore/verify@3.1.1");
  expect(npmPurl("@a/b.c_d~e", "1.0.0-beta.1+build.5")).toBe("pkg:npm/%40a/b.c_d~e@1.0.0-beta.1+build.5");
  expect(npmPurl("a+b", "1")).toBe("pkg:npm/a%2Bb@1");
  expect(npmPurl("x", "npm:y@1")).toBe("pkg:npm/x@npm:y%401");
});
