"use client";

import { useEffect, useState } from "react";
import { useBlock } from "wagmi";

/** The chain's clock (latest block timestamp), advancing each second between blocks. */
export function useChainTime(): number | undefined {
  const { data: block } = useBlock({ watch: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((x) => x + 1), 1_000);
    return () => clearInterval(t);
  }, []);
  const [base, setBase] = useState<{ chain: number; wall: number } | undefined>(undefined);
  useEffect(() => {
    if (block) setBase({ chain: Number(block.timestamp), wall: Date.now() });
  }, [block]);
  void tick;
  return base ? base.chain + Math.floor((Date.now() - base.wall) / 1000) : undefined;
}
