import type { Metadata, Viewport } from "next";
import Link from "next/link";
import Script from "next/script";
import type { ReactNode } from "react";
import { Nav } from "../components/Nav";
import { WalletPicker } from "../components/WalletPicker";
import "./globals.css";
import { Providers } from "./providers";

export const metadata: Metadata = {
  title: "Postbox — paid mailboxes for offline messaging",
  description: "Compare mailboxes by measured uptime, latency, delivery and price; run one; pay for history.",
};

export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      {/* The settings the server runs with (lib/env.ts), before any of the page's code. */}
      <Script src="/env.js" strategy="beforeInteractive" />
      <body>
        <Providers>
          <header>
            <Link href="/" className="brand" prefetch={false}>
              Postbox
            </Link>
            <Nav />
            <WalletPicker />
          </header>
          <main>{children}</main>
        </Providers>
      </body>
    </html>
  );
}
