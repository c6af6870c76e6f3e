"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

const LINKS = [
  { href: "/", label: "Mailboxes", also: ["/mailbox/"] },
  { href: "/chat", label: "Chat", also: [] },
  { href: "/operate", label: "Operate", also: [] },
  { href: "/channels", label: "Channels", also: [] },
  { href: "/methodology", label: "Methodology", also: [] },
] as const;

/** The site navigation, with the current section marked (`aria-current="page"`). */
export function Nav() {
  const path = usePathname() ?? "/";
  return (
    <nav aria-label="Main">
      {LINKS.map((l) => {
        const current = path === l.href || l.also.some((p) => path.startsWith(p));
        return (
          <Link key={l.href} href={l.href} aria-current={current ? "page" : undefined}>
            {l.label}
          </Link>
        );
      })}
    </nav>
  );
}
