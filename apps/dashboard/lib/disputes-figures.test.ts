import { describe, expect, it } from "vitest";
import { mailboxFixture } from "./fixtures";
import { disputesOf } from "./prober";

const figures = {
  open: 1,
  answered: 2,
  upheld: 1,
  slashed: "200000000000000000000",
  upheldAt: [5],
  lastUpheldAt: 5,
};

describe("the prober's dispute counts, read defensively", () => {
  it("reads the counts a prober sends", () => {
    expect(disputesOf(mailboxFixture({ disputes: figures }))).toEqual(figures);
    expect(
      disputesOf(mailboxFixture({ disputes: { ...figures, upheldAt: [], lastUpheldAt: null } })),
    ).toEqual({
      ...figures,
      upheldAt: [],
      lastUpheldAt: null,
    });
  });

  it("has none from a prober that predates them, or sends them malformed", () => {
    expect(disputesOf(mailboxFixture({}))).toBeUndefined();
    for (const bad of [
      { ...figures, upheld: -1 },
      { ...figures, slashed: 12 },
      { ...figures, slashed: "1e18" },
      { ...figures, upheldAt: ["x"] },
      { ...figures, upheldAt: undefined },
      { ...figures, lastUpheldAt: "5" },
      "3 upheld",
    ])
      expect(disputesOf(mailboxFixture({ disputes: bad as never }))).toBeUndefined();
  });
});
