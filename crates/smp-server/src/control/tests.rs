//! Whole control sessions over an in-memory stream: greeting, roles, answers, `quit`.

use super::queues::tests::{add_queue, test_context};
use super::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// Runs a session that sends `input`, returns everything the server wrote.
async fn session(context: &ControlContext, input: &str) -> String {
    let (client, server) = tokio::io::duplex(1 << 16);
    let shutdown = CancellationToken::new();
    let (read_half, mut write_half) = tokio::io::split(client);
    write_half.write_all(input.as_bytes()).await.unwrap();
    write_half.shutdown().await.unwrap();
    serve_client(server, context, &shutdown).await.unwrap();
    let mut output = String::new();
    let mut reader = BufReader::new(read_half);
    while reader.read_line(&mut output).await.unwrap() > 0 {}
    output
}

#[tokio::test]
async fn greeting_roles_and_fixed_answers() {
    let (context, _) = test_context(20);
    let output = session(
        &context,
        "help\r\nstats\nauth wrong\nauth user\nauth admin\nsuspend\n\nfoo\nquit\nhelp\n",
    )
    .await;
    assert_eq!(
        output,
        "SMP server control port\n'help' for supported commands\n\
         commands: stats, stats-rts, clients, sockets, socket-threads, threads, server-info, \
         delete, save, help, quit\n\
         AUTH\n\
         Current role is CPRNone\n\
         Current role is CPRUser\n\
         Current role is CPRUser, start new session to change.\n\
         AUTH\n\
         error: Failed reading: bad ControlProtocol command\n"
    );
    let output = session(
        &context,
        "auth user\nauth user\nauth admin\nsuspend\ndelete AQID\nstatus AQID\n",
    )
    .await;
    assert!(output.ends_with(
        "Current role is CPRUser\nCurrent role is CPRUser\n\
         Current role is CPRUser, start new session to change.\nAUTH\nAUTH\nerror: AUTH\n"
    ));
    let output = session(&context, "auth admin\nsuspend\nresume\nsave\n").await;
    assert!(output.ends_with(
        "Current role is CPRAdmin\nsuspend not implemented\nresume not implemented\n\
         saving server state...\nserver state saved!\n"
    ));
}

#[tokio::test]
async fn reports_for_user_and_admin() {
    let (context, _) = test_context(20);
    add_queue(&context, 1);
    let user = session(
        &context,
        "auth user\nstats\nsockets\nserver-info\nclients\n",
    )
    .await;
    assert!(user.contains("\nfromTime: 2023-11-14 22:13:20 UTC\nqCreated: 0\n"));
    assert!(user.contains("\nqCount 2: 1\nnotifiers: 0\n"));
    assert!(!user.contains("ntfCount 2"));
    assert!(user.contains(
        "\npRelays: requests=0, successes=0, errorsConnect=0, errorsCompat=0, errorsOther=0\n"
    ));
    assert!(user.contains("\nntfServiceQueuesCount: 0\nThreads: "));
    assert!(user.contains(
        "\nClients: 0\nSMP subscriptions: 0\nSMP subscribed clients: 0\n\
         SMP subscribed clients count 2: 0\nNtf subscriptions: 0\nNtf subscribed clients: 0 []\n\
         Ntf subscribed clients count 2: 0 fromList []\nAUTH\n"
    ));
    let admin = session(
        &context,
        "auth admin\nstats\nserver-info\nclients\nthreads\nstats-rts\n",
    )
    .await;
    assert!(admin.contains("\nntfCount 2: 0\n"));
    assert!(admin.contains("\nClient queues (rcvQ, sndQ, msgQ): (0,0,0)\n"));
    assert!(admin.contains(
        "\nSMP subscriptions (by group: NoSub, SubPending, SubThread, ProhibitSub): (0,0,0,0)\n"
    ));
    assert!(admin.contains(
        "\nclientId,sessionId,connected,createdAt,rcvActiveAt,sndActiveAt,age,subscriptions\n\
         Threads: "
    ));
    assert!(admin.contains("\nRuntimeStats {runtime = \"tokio\", workers = "));
}
