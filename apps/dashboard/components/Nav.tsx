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

/**
 * The site navigation, with the current section marked (`aria-current="page"`). The chat page does
 * not prefetch the other sections: their JavaScript (the discovery table's charts, ≈ 115 KB gzip)
 * would be fetched and parsed on the page's main thread while it catches up; they load on hover or
 * click instead.
 */
export function Nav() {
  const path = usePathname() ?? "/";
  const prefetch = path === "/chat" ? false : undefined;
  return (
    <nav aria-label="Main">
      {LINKS.map((l) => {
        const current = path === l.href || l.also.some((p) => path.startsWith(p));
        return (
          <Link key={l.href} href={l.href} prefetch={prefetch} aria-current={current ? "page" : undefined}>
            {l.label}
          </Link>
        );
      })}
    </nav>
  );
}
